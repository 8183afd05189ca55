/**
 * The webhook's Prometheus metrics. Each app gets its own Registry (never prom-client's global one), so a
 * process, or a test file, can build many apps without "metric already registered" errors.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How an admission call ended: `error` is a call that got no decision (bad request or a failure in the webhook). */
export type AdmissionResult = 'allowed' | 'patched' | 'denied' | 'error';
export const ADMISSION_RESULTS: readonly AdmissionResult[] = ['allowed', 'patched', 'denied', 'error'];

export interface WebhookMetrics {
  registry: Registry;
  admissions: Counter<'result'>;
  /** Time from the request's arrival to the response being sent, body parsing and serialisation included. */
  admissionSeconds: Histogram;
  /** Connections closed on arrival because `connections.max` were open. */
  connectionsDropped: Counter;
  /** Requests cut off because they had not arrived whole within `connections.requestTimeoutSeconds`. */
  requestsTimedOut: Counter;
}

/**
 * Half a millisecond upward: a pass-through admission takes well under a millisecond, and the API server's
 * default webhook timeout (10 s) bounds the top.
 */
const ADMISSION_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createWebhookMetrics(): WebhookMetrics {
  const registry = new Registry();
  const admissions = new Counter({
    name: 'podeip_webhook_admissions_total',
    help: 'Admission reviews answered, by result (allowed, patched, denied, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  // Every series exists from the start, so rate() and absence alerts work before the first denial.
  for (const result of ADMISSION_RESULTS) admissions.inc({ result }, 0);
  const admissionSeconds = new Histogram({
    name: 'podeip_webhook_admission_seconds',
    help: 'Time to answer one admission review, in seconds.',
    buckets: ADMISSION_SECONDS_BUCKETS,
    registers: [registry],
  });
  const connectionsDropped = new Counter({
    name: 'podeip_webhook_connections_dropped_total',
    help: 'Connections closed as soon as they were accepted, because the most allowed were open.',
    registers: [registry],
  });
  const requestsTimedOut = new Counter({
    name: 'podeip_webhook_requests_timed_out_total',
    help: 'Requests cut off because they had not arrived whole within the request timeout.',
    registers: [registry],
  });
  collectDefaultMetrics({ register: registry, prefix: 'podeip_webhook_' });
  return { registry, admissions, admissionSeconds, connectionsDropped, requestsTimedOut };
}
