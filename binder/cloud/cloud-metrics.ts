/**
 * What the Alibaba adapter reports about its calls, and the Prometheus form of it. The adapter only knows
 * the CloudMetrics interface, so tests and other runtimes can count without prom-client.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { CLOUD_API_NAMES, type ApiName } from './eip-cloud.js';

export interface CloudMetrics {
  /** One HTTP call to the cloud ended (each retry is a call); `code` is `OK` on success, else the CloudError code. */
  callDone(api: ApiName, code: string, seconds: number): void;
  /** Time a call waited for its API's client-side token bucket (0 when a token was there). */
  bucketWait(api: ApiName, seconds: number): void;
}

export const NO_CLOUD_METRICS: CloudMetrics = {
  callDone: () => undefined,
  bucketWait: () => undefined,
};

/** From a fast local answer up to the adapter's default 10 s read timeout plus its 5 s connect timeout. */
const CALL_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
/** Zero when under the limit; up to a whole window (60 s) when a burst queues behind Allocate's 120/min. */
const WAIT_SECONDS_BUCKETS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Registers `podeip_binder_cloud_calls_total{api,code}`, `podeip_binder_cloud_call_seconds{api}` and
 * `podeip_binder_cloud_ratelimit_wait_seconds{api}` on `registry`, or reuses them if already there (two
 * adapters in one process share the series).
 */
export function createPromCloudMetrics(registry: Registry): CloudMetrics {
  const calls =
    (registry.getSingleMetric('podeip_binder_cloud_calls_total') as Counter<'api' | 'code'> | undefined) ??
    new Counter({
      name: 'podeip_binder_cloud_calls_total',
      help: 'Calls to the Alibaba Cloud API, by action and answer code (OK on success).',
      labelNames: ['api', 'code'] as const,
      registers: [registry],
    });
  const callSeconds =
    (registry.getSingleMetric('podeip_binder_cloud_call_seconds') as Histogram<'api'> | undefined) ??
    new Histogram({
      name: 'podeip_binder_cloud_call_seconds',
      help: 'Time from sending a call to the Alibaba Cloud API to its answer (or failure), in seconds.',
      labelNames: ['api'] as const,
      buckets: CALL_SECONDS_BUCKETS,
      registers: [registry],
    });
  const waitSeconds =
    (registry.getSingleMetric('podeip_binder_cloud_ratelimit_wait_seconds') as Histogram<'api'> | undefined) ??
    new Histogram({
      name: 'podeip_binder_cloud_ratelimit_wait_seconds',
      help: "Time a call waited for its action's client-side rate limit, in seconds.",
      labelNames: ['api'] as const,
      buckets: WAIT_SECONDS_BUCKETS,
      registers: [registry],
    });
  // Success series exist from the start, so an error ratio has a denominator before the first call.
  for (const api of CLOUD_API_NAMES) calls.inc({ api, code: 'OK' }, 0);
  return {
    callDone(api, code, seconds) {
      calls.inc({ api, code });
      callSeconds.observe({ api }, seconds);
    },
    bucketWait(api, seconds) {
      waitSeconds.observe({ api }, seconds);
    },
  };
}
