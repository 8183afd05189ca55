/**
 * The reconcile work queue, with controller-runtime's (client-go workqueue's) guarantees: repeated adds
 * of a waiting key merge into one; a key being processed is never handed to a second worker, and an add
 * meanwhile marks it dirty so it runs once more afterwards; `addAfter` keeps the earliest of several
 * pending times; `addRateLimited` backs off per key exponentially (with jitter, capped) until `forget`.
 */
import { pino, type Logger } from 'pino';

export interface QueueClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: QueueClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface QueueBackoff {
  /** Delay after the first failure; doubles per failure. Default 1 s. */
  baseMs?: number;
  /** Default 5 minutes. */
  maxMs?: number;
  /** Share of the delay taken off at random, so keys failing together do not retry together. Default 0.1. */
  jitter?: number;
}

export interface WorkQueueOptions {
  backoff?: QueueBackoff;
  clock?: QueueClock;
  random?: () => number;
  logger?: Logger;
}

/**
 * What a handler asks of the queue: nothing (done; its backoff is forgotten) or to run the key again after
 * a delay. controller-runtime's reconcile.Result; not the `result` label of the reconciles metric.
 */
export type Requeue = void | { requeueAfterMs: number };

export type ReconcileHandler<K> = (key: K) => Promise<Requeue>;

/** A min-heap of due times; entries superseded by an earlier time are skipped when popped. */
class DueHeap<K> {
  private readonly items: Array<{ at: number; key: K }> = [];

  push(at: number, key: K): void {
    const items = this.items;
    items.push({ at, key });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= items[i]!.at) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  peek(): { at: number; key: K } | undefined {
    return this.items[0];
  }

  pop(): { at: number; key: K } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && items[l]!.at < items[m]!.at) m = l;
        if (r < items.length && items[r]!.at < items[m]!.at) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i]!, items[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

export class WorkQueue<K = string> {
  private readonly ready: K[] = [];
  /** Keys waiting in `ready`, or processing and asked for again. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  /**
   * Keys whose handler asked to go on, at once or after a while (an EIP still associating): when they come
   * back they go before keys not started yet. Finishing what was started comes first: a burst then
   * pipelines its steps (allocate, associate, the look once bound) instead of starting every pod before it
   * finishes any.
   */
  private readonly resuming = new Set<K>();
  private readonly failures = new Map<K, number>();
  /** The earliest time each delayed key is due; the heap may hold later, stale entries too. */
  private readonly due = new Map<K, number>();
  private readonly heap = new DueHeap<K>();
  private timer: unknown;
  private timerAt = Infinity;
  private readonly idleWorkers: Array<(key: K | undefined) => void> = [];
  private shuttingDown = false;
  private draining = false;
  private readonly drained: Array<() => void> = [];
  private workers: Promise<void>[] = [];
  private readonly clock: QueueClock;
  private readonly random: () => number;
  private readonly backoff: Required<QueueBackoff>;
  private readonly logger: Logger;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = { baseMs: 1000, maxMs: 300_000, jitter: 0.1, ...options.backoff };
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'work-queue' });
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    // The worker that holds it requeues it when done.
    if (this.processing.has(key)) return;
    const worker = this.idleWorkers.shift();
    if (worker !== undefined) this.handOut(key, worker);
    else if (this.resuming.has(key)) this.ready.unshift(key);
    else this.ready.push(key);
  }

  /** Adds `key` once `ms` have passed; of several pending times for one key, the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.due.get(key);
    if (pending !== undefined && pending <= at) return;
    this.due.set(key, at);
    this.heap.push(at, key);
    this.armTimer();
  }

  /** Adds `key` after its next backoff delay, and returns that delay. */
  addRateLimited(key: K): number {
    const delay = this.nextBackoff(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** The delay the next addRateLimited would use, counting this failure: base × 2^(n−1), capped, less jitter. */
  private nextBackoff(key: K): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(n - 1, 52));
    return Math.round(ceiling * (1 - this.backoff.jitter * this.random()));
  }

  /** Ends the key's backoff: the next failure starts again at the base delay. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys ready to be handed out (the queue-depth metric); delayed and processing keys are not counted. */
  length(): number {
    return this.ready.length;
  }

  delayedCount(): number {
    return this.due.size;
  }

  processingCount(): number {
    return this.processing.size;
  }

  /**
   * Runs `workers` loops, each taking a key, running `handler` and reporting back: a handler that throws
   * is retried with backoff, one that returns `{ requeueAfterMs }` runs again after that, one that returns
   * nothing is done (its backoff forgotten). Resolves once shut down and every worker has finished.
   */
  run(workers: number, handler: ReconcileHandler<K>): Promise<void> {
    if (!(Number.isInteger(workers) && workers >= 1))
      throw new Error(`workers must be an integer >= 1, got ${workers}`);
    for (let i = 0; i < workers; i++) this.workers.push(this.workerLoop(handler));
    return Promise.all(this.workers).then(() => undefined);
  }

  /**
   * Stops taking adds and drops delayed keys. With `drain`, keys already waiting are still processed;
   * without, they are dropped. Either way, keys being processed finish; resolves once workers are done.
   */
  async shutDown(options: { drain?: boolean } = {}): Promise<void> {
    this.shuttingDown = true;
    this.draining = options.drain === true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.due.clear();
    this.resuming.clear();
    this.heap.clear();
    if (!this.draining) {
      for (const key of this.ready) this.dirty.delete(key);
      this.ready.length = 0;
    }
    // Without workers nothing could drain the waiting keys; they are dropped.
    if (this.workers.length === 0) {
      this.dirty.clear();
      this.ready.length = 0;
    }
    if (this.processing.size > 0 || this.ready.length > 0)
      await new Promise<void>((resolve) => this.drained.push(resolve));
    for (const wake of this.idleWorkers.splice(0)) wake(undefined);
    await Promise.all(this.workers);
  }

  /** The next key, or undefined once shut down (after draining, if asked). */
  private get(): Promise<K | undefined> {
    const key = this.ready.shift();
    if (key !== undefined) {
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.idleWorkers.push(resolve));
  }

  private handOut(key: K, worker: (key: K | undefined) => void): void {
    this.take(key);
    worker(key);
  }

  private take(key: K): void {
    this.resuming.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
  }

  private done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      if (this.shuttingDown && !this.draining) this.dirty.delete(key);
      else {
        const worker = this.idleWorkers.shift();
        if (worker !== undefined) this.handOut(key, worker);
        else if (this.resuming.has(key)) this.ready.unshift(key);
        else this.ready.push(key);
      }
    }
    if (this.shuttingDown && this.processing.size === 0 && this.ready.length === 0)
      for (const resolve of this.drained.splice(0)) resolve();
  }

  private async workerLoop(handler: ReconcileHandler<K>): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      try {
        const requeue = await handler(key);
        this.forget(key);
        if (requeue && requeue.requeueAfterMs >= 0) {
          this.resuming.add(key);
          this.addAfter(key, requeue.requeueAfterMs);
        }
      } catch (error) {
        const delay = this.shuttingDown ? 0 : this.addRateLimited(key);
        this.logger.warn(
          { err: error, key: String(key), retryInMs: delay, failures: this.numRequeues(key) },
          'reconcile failed; retrying with backoff',
        );
      } finally {
        this.done(key);
      }
    }
  }

  private armTimer(): void {
    const next = this.heap.peek();
    if (next === undefined || next.at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next.at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      // A stale entry: the key was rescheduled earlier (and maybe already added).
      if (this.due.get(top.key) !== top.at) continue;
      this.due.delete(top.key);
      this.add(top.key);
    }
    this.armTimer();
  }
}
