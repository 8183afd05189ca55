/**
 * How one cloud call is made: wait for the API's token bucket, send under a deadline, report the
 * metrics, classify a failure, and retry the failures worth retrying here.
 *
 * Retried here: `transient` (5xx, timeout, broken connection) a bounded number of times with backoff and
 * jitter, each retry through the bucket again. The caller resends the same request, so a mutating call
 * carries the same ClientToken and the cloud replays instead of acting twice. `conflict` gets one short
 * retry (the other operation is usually about to finish). Everything else, throttling included, goes
 * back to the reconciler, whose per-key backoff is the right place to wait minutes.
 */
import type { Logger } from 'pino';
import { DeadlineExceededError, classifyCloudError } from './cloud-error-classification.js';
import type { CloudMetrics } from './cloud-metrics.js';
import type { ApiName, CloudError } from './eip-cloud.js';
import type { TokenBucket } from './token-bucket.js';

export interface RetryPolicy {
  /** Attempts for a transient failure, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is drawn from [d/2, d] with d = min(maxDelayMs, baseDelayMs · 2^(n−1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Wait before the single retry of a conflict. */
  conflictDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 400,
  maxDelayMs: 4000,
  conflictDelayMs: 1000,
};

/** "Equal jitter": never zero (a burst of failures does not retry in lockstep) and never more than the cap. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface CallRunnerDependencies {
  buckets: ReadonlyMap<ApiName, TokenBucket>;
  metrics: CloudMetrics;
  logger: Logger;
  /** Per attempt, end to end: the SDK's timers cannot tell connecting from waiting on a kept-alive socket. */
  deadlineMs: number;
  retry: RetryPolicy;
  /** Current secrets to scrub from error messages. */
  secrets: () => readonly string[];
  sleep?: (ms: number) => Promise<void>;
}

export interface CallOptions {
  /** Retry transient failures here (false for a call without a ClientToken, whose caller must look first). */
  retryTransient: boolean;
  /** Log fields identifying what the call is about (allocation id, ENI); never secrets. */
  context?: Record<string, unknown>;
}

export class CloudCallRunner {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: CallRunnerDependencies) {
    if (!(Number.isInteger(deps.retry.maxAttempts) && deps.retry.maxAttempts >= 1))
      throw new Error(`retry.maxAttempts must be a whole number >= 1, got ${deps.retry.maxAttempts}`);
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get retryPolicy(): RetryPolicy {
    return this.deps.retry;
  }

  pause(ms: number): Promise<void> {
    return this.sleep(ms);
  }

  /** `send` is called once per attempt and must build the same request each time. */
  async call<T>(api: ApiName, send: () => Promise<T>, options: CallOptions): Promise<T> {
    const { logger, retry } = this.deps;
    let attempt = 0;
    let conflictRetried = false;
    for (;;) {
      attempt += 1;
      try {
        return await this.attempt(api, send);
      } catch (error) {
        const failure = error as CloudError;
        const transientRetry = failure.kind === 'transient' && options.retryTransient && attempt < retry.maxAttempts;
        const conflictRetry = failure.kind === 'conflict' && !conflictRetried;
        if (!transientRetry && !conflictRetry) {
          logger.debug(
            { ...options.context, api, code: failure.code, kind: failure.kind, requestId: failure.requestId, attempt },
            'cloud call failed',
          );
          throw failure;
        }
        if (conflictRetry) conflictRetried = true;
        const delayMs = conflictRetry ? retry.conflictDelayMs : backoffDelayMs(attempt, retry);
        logger.warn(
          {
            ...options.context,
            api,
            code: failure.code,
            kind: failure.kind,
            requestId: failure.requestId,
            attempt,
            delayMs,
          },
          'cloud call failed; retrying',
        );
        await this.sleep(delayMs);
      }
    }
  }

  private async attempt<T>(api: ApiName, send: () => Promise<T>): Promise<T> {
    const { buckets, metrics, deadlineMs, secrets } = this.deps;
    const bucket = buckets.get(api);
    if (bucket !== undefined) metrics.bucketWait(api, (await bucket.acquire()) / 1000);
    const started = performance.now();
    try {
      const result = await withDeadline(send(), deadlineMs);
      metrics.callDone(api, 'OK', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const failure = classifyCloudError(error, api, secrets());
      metrics.callDone(api, failure.code, (performance.now() - started) / 1000);
      throw failure;
    }
  }
}

/** The call is not aborted (the SDK cannot); a late answer is dropped, and a retry relies on the ClientToken. */
function withDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
