/**
 * controller-runtime's reconcile queue, small: repeated adds of a key merge into one run, a key never runs
 * twice at once (an add during a run runs it again afterwards), a reconcile may ask to run again later, and
 * a failing key backs off exponentially until it succeeds. Errors are logged, never thrown out of a timer.
 */
import type { Logger } from 'pino';

/** What a reconcile returns: nothing when done, or when to look again (waiting on time, not on an event). */
export type ReconcileOutcome = void | { requeueAfterMs: number };

const BACKOFF_BASE_MS = 10;
const BACKOFF_MAX_MS = 2000;

export class ReconcileQueue {
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly reconcile: (key: string) => Promise<ReconcileOutcome> | ReconcileOutcome,
    private readonly logger: Logger,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queued.add(key);
    // One turn of the event loop gathers the burst of watch events a single write causes.
    this.immediate ??= setImmediate(() => this.drain());
  }

  /** Runs the key after `ms`, unless an earlier run for it is already scheduled. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, ms);
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.delayed.delete(key);
        this.add(key);
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queued.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private drain(): void {
    this.immediate = undefined;
    const keys = [...this.queued];
    this.queued.clear();
    for (const key of keys) {
      const run = this.run(key);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }

  private async run(key: string): Promise<void> {
    if (this.stopped) return;
    this.running.add(key);
    try {
      const outcome = await this.reconcile(key);
      this.failures.delete(key);
      if (outcome !== undefined && !this.stopped) this.addAfter(key, outcome.requeueAfterMs);
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      this.logger.warn({ err: error, queue: this.name, key, attempt, retryInMs: delay }, 'reconcile failed');
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }
}
