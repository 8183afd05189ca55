/**
 * The binder's one Prometheus registry (never prom-client's global one, so tests and the demo can run
 * several binders in a process). The reconciler and the cloud adapter register their own series on it;
 * this adds the process's own, prefixed like the rest.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export const BINDER_METRIC_PREFIX = 'podeip_binder_';

export function createBinderRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  // Off for in-process binders (the demo, tests): the numbers would describe the host process, not a binder.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: BINDER_METRIC_PREFIX });
  return registry;
}
