/**
 * core/v1 Events as client-go's recorder writes them (what `kubectl describe` and `kubectl get events`
 * read): one Event per object, reason and message, counted up when the same thing happens again within
 * ten minutes instead of written anew. Recording never fails the caller.
 */
import type { Logger } from 'pino';
import { rfc3339 } from '../object-meta.js';
import type { KubeObject, UserInfo } from '../types.js';
import type { ClusterTypes, ClusterWriter } from './cluster-writer.js';

export interface EventSource {
  /** `default-scheduler`, `kubelet`, `replicaset-controller`, … */
  component: string;
  /** The node, for the kubelet. */
  host?: string;
  identity: UserInfo;
}

/** client-go's EventCorrelator folds repeats within this window into a count. */
const SERIES_WINDOW_MS = 10 * 60 * 1000;
const MAX_TRACKED_SERIES = 2000;

interface Series {
  name: string;
  namespace: string;
  lastAt: number;
}

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private sequence = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly writer: ClusterWriter,
    private readonly types: ClusterTypes,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** `fieldPath` names the container an event is about: `spec.containers{app}`. */
  normal(source: EventSource, object: KubeObject, reason: string, message: string, fieldPath?: string): void {
    this.record(source, object, 'Normal', reason, message, fieldPath);
  }

  warning(source: EventSource, object: KubeObject, reason: string, message: string, fieldPath?: string): void {
    this.record(source, object, 'Warning', reason, message, fieldPath);
  }

  /** Waits for the writes under way (stop() uses it). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private record(
    source: EventSource,
    object: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath: string | undefined,
  ): void {
    const write = this.write(source, object, type, reason, message, fieldPath).catch((error: unknown) => {
      // A namespace being deleted refuses new Events; nothing depends on them.
      this.logger.debug({ err: error, reason, object: object.metadata.name }, 'event not recorded');
    });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  private async write(
    source: EventSource,
    object: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath: string | undefined,
  ): Promise<void> {
    const at = this.now();
    const namespace = object.metadata.namespace ?? 'default';
    const key = [
      source.component,
      source.host ?? '',
      object.metadata.uid ?? '',
      fieldPath ?? '',
      type,
      reason,
      message,
    ].join('\u0000');
    const existing = this.series.get(key);
    if (existing !== undefined && at - existing.lastAt < SERIES_WINDOW_MS) {
      existing.lastAt = at;
      const updated = await this.writer.modify(
        this.types.events,
        existing.namespace,
        existing.name,
        (event) => ({
          ...event,
          count: (typeof event.count === 'number' ? event.count : 1) + 1,
          lastTimestamp: rfc3339(at),
        }),
        source.identity,
        source.component,
      );
      if (updated !== undefined) return;
    }
    const name = `${object.metadata.name ?? 'unknown'}.${this.uniqueSuffix(at)}`;
    this.remember(key, { name, namespace, lastAt: at });
    await this.writer.create(
      this.types.events,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          kind: object.kind,
          ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
          name: object.metadata.name,
          uid: object.metadata.uid,
          apiVersion: object.apiVersion,
          resourceVersion: object.metadata.resourceVersion,
          ...(fieldPath === undefined ? {} : { fieldPath }),
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: rfc3339(at),
        lastTimestamp: rfc3339(at),
        eventTime: null,
        source: { component: source.component, ...(source.host === undefined ? {} : { host: source.host }) },
        reportingComponent: source.component,
        reportingInstance: source.host ?? '',
      },
      source.identity,
      source.component,
    );
  }

  /** The hex of the time in nanoseconds, as the recorder names Events; a counter keeps same-ms ones apart. */
  private uniqueSuffix(at: number): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return (BigInt(at) * 1_000_000n + BigInt(this.sequence)).toString(16);
  }

  private remember(key: string, entry: Series): void {
    this.series.set(key, entry);
    if (this.series.size <= MAX_TRACKED_SERIES) return;
    const oldest = this.series.keys().next().value;
    if (oldest !== undefined) this.series.delete(oldest);
  }
}
