/**
 * Events on pods (core/v1), the way client-go's recorder keeps them cheap: an identical event repeated
 * within a window becomes one object whose `count` and `lastTimestamp` are patched; a noisy pod is held
 * to a burst and a slow refill (client-go's spam filter, 25 then one per 5 minutes); all writes share one
 * rate limit. Memory is bounded, messages are capped at 1 KiB, and a failure is logged, never thrown:
 * an Event is a courtesy to the person reading `kubectl describe`, not part of the binding.
 */
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { MERGE_PATCH, describeApiError, isNotFound } from '../../api/kube/api-clients.js';
import { capMessage } from './pod-condition.js';

export const EVENT_COMPONENT = 'podeip-binder';
export const MAX_EVENT_MESSAGE_BYTES = 1024;

export type EventType = 'Normal' | 'Warning';

export interface EventSubject {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  /** The object's kind and apiVersion; a Pod (v1) when absent. */
  kind?: string;
  apiVersion?: string;
}

export interface EventRecorderOptions {
  component?: string;
  /** The binder's pod or node name, as source.host and reportingInstance. */
  host?: string;
  logger?: Logger;
  /** Repeats within this long of the last occurrence update one object. Default 10 minutes (client-go). */
  aggregationWindowMs?: number;
  /** Distinct events and pods remembered at once; the least recently used are forgotten. Default 4096. */
  maxTracked?: number;
  perObjectBurst?: number;
  perObjectRefillMs?: number;
  /** All writes together. Default a burst of 100, then 10 per second. */
  globalBurst?: number;
  globalPerSecond?: number;
  now?: () => number;
}

interface TrackedEvent {
  subject: EventSubject;
  type: EventType;
  reason: string;
  message: string;
  /** The server's object, once created; a repeat patches it. */
  objectName?: string;
  count: number;
  firstTimestamp: number;
  lastTimestamp: number;
  /** A newer count than the server has is waiting to be written. */
  dirty: boolean;
  writing?: Promise<void>;
}

/** A token bucket on a clock passed in, so the limits can be tested without waiting. */
class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly refillEveryMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) / this.refillEveryMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A Map used as an LRU: reads move a key to the end, inserts evict from the front. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}

export class EventRecorder {
  private readonly tracked = new Map<string, TrackedEvent>();
  private readonly perObject = new Map<string, Bucket>();
  private readonly global: Bucket;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly component: string;
  private sequence = 0;
  private dropped = 0;

  constructor(
    private readonly api: CoreV1Api,
    private readonly options: EventRecorderOptions = {},
  ) {
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'event-recorder' });
    this.now = options.now ?? Date.now;
    this.component = options.component ?? EVENT_COMPONENT;
    this.global = new Bucket(options.globalBurst ?? 100, 1000 / (options.globalPerSecond ?? 10), this.now());
  }

  /** Records an event on a pod; returns at once, the write happens in the background. */
  record(subject: EventSubject, type: EventType, reason: string, message: string): void {
    const now = this.now();
    const max = this.options.maxTracked ?? 4096;
    let bucket = this.perObject.get(subject.uid);
    bucket ??= new Bucket(this.options.perObjectBurst ?? 25, this.options.perObjectRefillMs ?? 300_000, now);
    touch(this.perObject, subject.uid, bucket, max);
    if (!bucket.take(now) || !this.global.take(now)) {
      this.dropped++;
      this.logger.debug(
        { namespace: subject.namespace, pod: subject.name, uid: subject.uid, reason },
        'event dropped by rate limit',
      );
      return;
    }
    const capped = capMessage(message, MAX_EVENT_MESSAGE_BYTES);
    const key = JSON.stringify([subject.uid, type, reason, capped]);
    const existing = this.tracked.get(key);
    const window = this.options.aggregationWindowMs ?? 600_000;
    let event: TrackedEvent;
    if (existing !== undefined && now - existing.lastTimestamp < window) {
      event = existing;
      event.count++;
      event.lastTimestamp = now;
      event.subject = subject;
    } else {
      event = {
        subject,
        type,
        reason,
        message: capped,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        dirty: false,
      };
    }
    event.dirty = true;
    touch(this.tracked, key, event, max);
    if (event.writing === undefined) this.startWriting(event);
  }

  /** Resolves when every write started so far has finished (tests, graceful shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Events refused by the rate limits so far. */
  droppedCount(): number {
    return this.dropped;
  }

  private startWriting(event: TrackedEvent): void {
    const writing = this.writeWhileDirty(event).finally(() => {
      event.writing = undefined;
      this.inFlight.delete(writing);
    });
    event.writing = writing;
    this.inFlight.add(writing);
  }

  /** One write at a time per event; repeats that arrive meanwhile are folded into the next write. */
  private async writeWhileDirty(event: TrackedEvent): Promise<void> {
    while (event.dirty) {
      event.dirty = false;
      const { subject } = event;
      const log = {
        namespace: subject.namespace,
        pod: subject.name,
        uid: subject.uid,
        reason: event.reason,
        count: event.count,
      };
      try {
        if (event.objectName !== undefined && (await this.patchCount(event))) continue;
        event.objectName = await this.create(event);
      } catch (error) {
        this.logger.warn({ ...log, error: describeApiError(error) }, 'could not write event');
        return;
      }
    }
  }

  /** False when the object has expired on the server (events have a TTL) and must be created anew. */
  private async patchCount(event: TrackedEvent): Promise<boolean> {
    try {
      await this.api.patchNamespacedEvent(
        {
          namespace: event.subject.namespace,
          name: event.objectName!,
          body: { count: event.count, lastTimestamp: new Date(event.lastTimestamp).toISOString() },
        },
        MERGE_PATCH,
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async create(event: TrackedEvent): Promise<string> {
    const { subject } = event;
    // client-go names events `<object>.<unix nanoseconds in hex>`; the sequence keeps names unique within one
    // millisecond.
    const name = `${subject.name}.${(BigInt(this.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
    const host = this.options.host;
    const body: CoreV1Event = {
      metadata: { name, namespace: subject.namespace },
      involvedObject: {
        apiVersion: subject.apiVersion ?? 'v1',
        kind: subject.kind ?? 'Pod',
        namespace: subject.namespace,
        name: subject.name,
        uid: subject.uid,
        ...(subject.resourceVersion === undefined ? {} : { resourceVersion: subject.resourceVersion }),
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      source: { component: this.component, ...(host === undefined ? {} : { host }) },
      firstTimestamp: new Date(event.firstTimestamp),
      lastTimestamp: new Date(event.lastTimestamp),
      count: event.count,
      reportingComponent: this.component,
      reportingInstance: host ?? this.component,
    };
    await this.api.createNamespacedEvent({ namespace: subject.namespace, body });
    this.logger.debug(
      { namespace: subject.namespace, pod: subject.name, uid: subject.uid, reason: event.reason, event: name },
      'recorded event',
    );
    return name;
  }
}
