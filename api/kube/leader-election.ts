/**
 * Lease-based leader election (coordination.k8s.io/v1) with client-go's rules: acquire by create (409:
 * someone else was first) or by an update carrying the resourceVersion read (409: lost the race); take
 * over only once the holder's lease has expired by our own clock, counted from when we saw the lease last
 * change (clocks of different machines are never compared); renew every retryPeriod; and stop leading as
 * soon as renewDeadline passes without a renewal, which is before the lease can expire for anyone else.
 * client-node has no leader election of its own.
 */
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import { describeApiError, isConflict, isNotFound, withSignal } from './api-clients.js';

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  /** Unique per replica: the pod name, say. */
  identity: string;
  /** How long a lease holds without renewal; whole seconds (the Lease stores seconds). Default 15 s. */
  leaseDurationMs?: number;
  /** The leader gives up if it has not renewed for this long. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** A new term begins; `signal` aborts the moment it ends. */
  onStartedLeading?(signal: AbortSignal): void;
  onStoppedLeading?(): void;
  /** Another holder (or none: '') was observed. */
  onNewLeader?(identity: string): void;
  logger?: Logger;
  random?: () => number;
}

type Attempt = { ok: true } | { ok: false; heldBy?: string };

/**
 * client-go's JitterFactor: a replica that does not hold the lease waits up to this factor of
 * retryPeriod between tries, and the configuration is checked against it.
 */
export const RETRY_JITTER = 1.2;

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private readonly random: () => number;
  private leading = false;
  /** The lease as this replica last wrote it, while leading: the next renewal starts from it. */
  private written: V1Lease | undefined;
  private term: AbortController | undefined;
  private started = false;
  private stopped = false;
  private readonly lifetime = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private observedKey = '';
  private observedAt = 0;
  private observedHolder: string | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs < 1000 || this.leaseDurationMs % 1000 !== 0)
      throw new Error(`leaseDurationMs must be whole seconds of at least 1000, got ${this.leaseDurationMs}`);
    if (this.leaseDurationMs <= this.renewDeadlineMs)
      throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (this.renewDeadlineMs <= RETRY_JITTER * this.retryPeriodMs)
      throw new Error(`renewDeadlineMs must be greater than ${RETRY_JITTER} × retryPeriodMs`);
    this.logger = (options.logger ?? pino({ enabled: false })).child({
      component: 'leader-election',
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.stopped) throw new Error('a stopped LeaderElector cannot be started again; create a new one');
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed on the lease ('' when released), if any was read yet. */
  observedLeader(): string | undefined {
    return this.observedHolder;
  }

  /**
   * Stops electing. Leadership ends first (callbacks run), then, with `release` (the default), the lease is
   * handed back with an empty holder so another replica takes over at its next retry instead of waiting
   * out the lease. `release: false` walks away silently, as a crashed replica would.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.lifetime.abort();
    await this.attempt;
    const wasLeading = this.leading;
    this.stepDown('stopped');
    if (wasLeading && options.release !== false) await this.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.attempt = this.tick().finally(() => {
        this.attempt = undefined;
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const startedAt = performance.now();
    // An attempt must not outlast the renew deadline (a hung request would hold the next renewal back).
    const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.renewDeadlineMs)]);
    let result: Attempt;
    try {
      result = await this.tryAcquireOrRenew(signal);
    } catch (error) {
      if (!this.stopped)
        this.logger.warn({ error: describeApiError(error), leading: this.leading }, 'lease request failed');
      result = { ok: false };
    }
    if (this.stopped) return;
    if (result.ok) {
      this.armDeadline(startedAt);
      if (!this.leading) this.startLeading();
    } else if (this.leading && result.heldBy !== undefined) {
      this.stepDown(`lease now held by ${result.heldBy}`);
    }
    this.schedule(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + (RETRY_JITTER - 1) * this.random()));
  }

  /** Counted from the start of the attempt that renewed: the write can only have landed after it. */
  private armDeadline(renewStartedAt: number): void {
    clearTimeout(this.deadline);
    const remaining = renewStartedAt + this.renewDeadlineMs - performance.now();
    this.deadline = setTimeout(
      () => this.stepDown(`no renewal within ${this.renewDeadlineMs} ms`),
      Math.max(0, remaining),
    );
  }

  private startLeading(): void {
    this.leading = true;
    this.term = new AbortController();
    this.logger.info('started leading');
    try {
      this.options.onStartedLeading?.(this.term.signal);
    } catch (error) {
      this.logger.error({ err: error }, 'onStartedLeading threw');
    }
  }

  private stepDown(why: string): void {
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    this.written = undefined;
    this.term?.abort(new Error(`leadership lost: ${why}`));
    this.term = undefined;
    // Losing the lease is worth a warning; giving it up on a deliberate stop is not.
    if (why === 'stopped') this.logger.info({ why }, 'stopped leading');
    else this.logger.warn({ why }, 'stopped leading');
    try {
      this.options.onStoppedLeading?.();
    } catch (error) {
      this.logger.error({ err: error }, 'onStoppedLeading threw');
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const { api, namespace, name, identity } = this.options;
    const callOptions = withSignal(signal);
    const now = new V1MicroTime(Date.now());
    // A leader renews the lease it last wrote without reading it first, as client-go does: its
    // resourceVersion makes the write fail with 409 if anyone changed the lease since, and then the
    // lease is read as below.
    const written = this.written;
    this.written = undefined;
    if (this.leading && written?.spec !== undefined) {
      const renewed = this.renewedSpec(written.spec, now, false);
      try {
        this.written = await api.replaceNamespacedLease(
          { namespace, name, body: { ...written, spec: renewed } },
          callOptions,
        );
        this.observe(renewed);
        return { ok: true };
      } catch (error) {
        if (!isConflict(error) && !isNotFound(error)) throw error;
      }
    }
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ namespace, name }, callOptions);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const spec: V1LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseDurationMs / 1000,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      try {
        this.written = await api.createNamespacedLease(
          { namespace, body: { metadata: { name, namespace }, spec } },
          callOptions,
        );
      } catch (createError) {
        if (isConflict(createError)) return { ok: false };
        throw createError;
      }
      this.observe(spec);
      return { ok: true };
    }
    const spec = lease.spec ?? {};
    this.observe(spec);
    const holder = spec.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && !this.observedExpired(spec)) return { ok: false, heldBy: holder };
    // A replica that cannot see itself as holder must not act on an old term.
    if (holder !== identity && this.leading)
      this.stepDown(`lease taken over by ${holder === '' ? 'nobody (released)' : holder}`);
    const renewed = this.renewedSpec(spec, now, holder !== identity);
    try {
      this.written = await api.replaceNamespacedLease(
        { namespace, name, body: { ...lease, spec: renewed } },
        callOptions,
      );
    } catch (error) {
      if (isConflict(error)) return { ok: false };
      throw error;
    }
    this.observe(renewed);
    return { ok: true };
  }

  /** The lease as this replica writes it: held by us from `now`, a transition counted when taking over. */
  private renewedSpec(spec: V1LeaseSpec, now: V1MicroTime, takingOver: boolean): V1LeaseSpec {
    return {
      ...spec,
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.leaseDurationMs / 1000,
      acquireTime:
        takingOver || spec.acquireTime === undefined ? now : new V1MicroTime(spec.acquireTime as unknown as string),
      renewTime: now,
      leaseTransitions: takingOver ? (spec.leaseTransitions ?? 0) + 1 : (spec.leaseTransitions ?? 0),
    };
  }

  /** Remembers when the lease record last changed, by our monotonic clock. */
  private observe(spec: V1LeaseSpec): void {
    const key = JSON.stringify([
      spec.holderIdentity ?? '',
      timeKey(spec.renewTime),
      timeKey(spec.acquireTime),
      spec.leaseTransitions ?? 0,
      spec.leaseDurationSeconds ?? 0,
    ]);
    if (key === this.observedKey) return;
    this.observedKey = key;
    this.observedAt = performance.now();
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== this.options.identity) this.logger.info({ holder }, 'observed new leader');
      try {
        this.options.onNewLeader?.(holder);
      } catch (error) {
        this.logger.error({ err: error }, 'onNewLeader threw');
      }
    }
  }

  private observedExpired(spec: V1LeaseSpec): boolean {
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    return this.observedAt + durationMs <= performance.now();
  }

  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.options;
    const callOptions = withSignal(AbortSignal.timeout(this.renewDeadlineMs));
    try {
      const lease = await api.readNamespacedLease({ namespace, name }, callOptions);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(Date.now());
      // client-go's release: no holder and a one-second lease, so the next candidate takes it at once.
      const spec: V1LeaseSpec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      };
      await api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec } }, callOptions);
      this.logger.info('released lease');
    } catch (error) {
      this.logger.warn({ error: describeApiError(error) }, 'could not release lease; it expires on its own');
    }
  }
}

function timeKey(value: unknown): string {
  if (value instanceof Date) return String(value.getTime());
  return value === undefined || value === null ? '' : String(value);
}
