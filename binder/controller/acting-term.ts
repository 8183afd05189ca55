/**
 * One stretch of time in which this binder may act: its own work queue, workers and periodic resync, all
 * ended together. A term begins when the binder starts (leader election off) or takes the Lease, and ends
 * when it stops or loses the Lease; a later term starts from a fresh queue filled from the caches.
 */
import type { Logger } from 'pino';
import type { BinderCaches } from './caches.js';
import { WorkQueue } from './queue.js';
import type { Reconciler } from './reconcile.js';

export interface ActingTerm {
  queue: WorkQueue<string>;
  /** Aborts the term's signal at once, then waits for the reconciles under way. */
  end(): Promise<void>;
}

export interface ActingTermOptions {
  /** Aborted when the Lease is lost. */
  leadership: AbortSignal;
  caches: BinderCaches;
  reconcile: Reconciler;
  workers: number;
  resyncMs: number;
  logger: Logger;
  /** The previous term's end: its reconciles finish before this term's start, so no key is worked on twice at once. */
  after?: Promise<void>;
  /** Keys to look at again every `periodMs` (bound pods, to verify their EIPs against the cloud). */
  verify?: { periodMs: number; keys(): string[] };
  /** The garbage collection, run every `periodMs` while the term lasts (never two at once). */
  sweep?: { periodMs: number; run(signal: AbortSignal): Promise<void> };
}

function syncedOrAborted(caches: BinderCaches, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void caches.waitForSync().then(done);
  });
}

export function beginTerm(options: ActingTermOptions): ActingTerm {
  const { leadership, caches, reconcile, logger } = options;
  const term = new AbortController();
  const endTerm = (): void => term.abort(leadership.reason);
  leadership.addEventListener('abort', endTerm, { once: true });
  if (leadership.aborted) endTerm();
  const signal = term.signal;
  const queue = new WorkQueue<string>({ logger });
  let resync: NodeJS.Timeout | undefined;
  let sweeping: NodeJS.Timeout | undefined;
  let verifying: NodeJS.Timeout | undefined;
  let sweepUnderWay: Promise<void> | undefined;
  const sweep = options.sweep;
  const sweepOnce = (): void => {
    if (sweep === undefined || sweepUnderWay !== undefined || signal.aborted) return;
    sweepUnderWay = sweep
      .run(signal)
      .catch((error: unknown) => logger.warn({ err: error }, 'garbage collection failed; trying again next period'))
      .finally(() => (sweepUnderWay = undefined));
  };

  const enqueueAll = (): void => {
    for (const key of caches.keys()) queue.add(key);
  };
  const running = (async () => {
    await options.after?.catch(() => undefined);
    await syncedOrAborted(caches, signal);
    if (signal.aborted) return;
    logger.info({ keys: caches.keys().length, workers: options.workers }, 'acting: caches synced, workers started');
    enqueueAll();
    resync = setInterval(enqueueAll, options.resyncMs);
    if (sweep !== undefined) sweeping = setInterval(sweepOnce, sweep.periodMs);
    const verify = options.verify;
    if (verify !== undefined)
      verifying = setInterval(() => {
        for (const key of verify.keys()) queue.add(key);
      }, verify.periodMs);
    await queue.run(options.workers, (key) => reconcile(key, signal));
  })().catch((error: unknown) => logger.error({ err: error }, 'acting term failed'));

  return {
    queue,
    async end() {
      term.abort(new Error('acting term ended'));
      leadership.removeEventListener('abort', endTerm);
      clearInterval(resync);
      clearInterval(sweeping);
      clearInterval(verifying);
      await queue.shutDown();
      await sweepUnderWay;
      await running;
      logger.info('acting ended: workers finished');
    },
  };
}
