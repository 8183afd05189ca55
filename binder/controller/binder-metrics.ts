/**
 * The controller's own series on the binder's registry: how reconciles end, how deep the queue is, how
 * long a pod waits for its EIP, how many EIPs are bound, and what the garbage collection did. The cloud
 * adapter registers its call series itself (cloud-metrics.ts).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileResult = 'success' | 'requeue' | 'error';

export interface BinderMetrics {
  reconciled(result: ReconcileResult): void;
  /** The pod (by key and uid) was seen with an IP, waiting for its EIP; only the first sighting counts. */
  waitingSince(key: string, uid: string, at: number): void;
  /** The condition just turned True: the wait since the first sighting is observed once. */
  bound(key: string, uid: string, at: number): void;
  forget(key: string): void;
  /** The garbage collection unbound, released or (PrePaid) kept an EIP no PodEIP names. */
  collected(action: GcAction): void;
  /** A bind, unbind or release refused because the EIP is not this record's (the Event's reason). */
  refused(reason: string): void;
}

export type GcAction = 'unassociated' | 'released' | 'kept-prepaid';

export interface BinderMetricSources {
  /** Keys ready to be handed to a worker, in the acting term's queue (0 while not leading). */
  queueDepth(): number;
  /** PodEIPs whose status says InUse. */
  eipsBound(): number;
}

/** From an EIP that is bound within a second up to one that waited out quota or throttling for minutes. */
const BIND_SECONDS_BUCKETS = [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600];

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Registers the series, or reuses counters and histograms already there (two binders sharing a registry,
 * as the demo may). Gauges read the binder that registered them last.
 */
export function createBinderMetrics(registry: Registry, sources: BinderMetricSources): BinderMetrics {
  const reconciles = getOrCreate(
    registry,
    'podeip_binder_reconciles_total',
    () =>
      new Counter({
        name: 'podeip_binder_reconciles_total',
        help: 'Reconciles of a pod key, by how they ended: success (done, or bound and resynced later), requeue (waiting on the cloud or the user), error (retried with backoff).',
        labelNames: ['result'] as const,
        registers: [registry],
      }),
  );
  for (const result of ['success', 'requeue', 'error'] as const) reconciles.inc({ result }, 0);
  const bindSeconds = getOrCreate(
    registry,
    'podeip_binder_bind_seconds',
    () =>
      new Histogram({
        name: 'podeip_binder_bind_seconds',
        help: 'Time from the binder first seeing a pod with an IP to its k8s.aliyun.com/eip condition turning True, in seconds.',
        buckets: BIND_SECONDS_BUCKETS,
        registers: [registry],
      }),
  );
  const gcActions = getOrCreate(
    registry,
    'podeip_binder_gc_actions_total',
    () =>
      new Counter({
        name: 'podeip_binder_gc_actions_total',
        help: "What the garbage collection did to EIPs with this cluster's tags that no PodEIP names.",
        labelNames: ['action'] as const,
        registers: [registry],
      }),
  );
  const refusals = getOrCreate(
    registry,
    'podeip_binder_refusals_total',
    () =>
      new Counter({
        name: 'podeip_binder_refusals_total',
        help: "Binds, unbinds and releases refused because the EIP is not the record's to touch, by the Event's reason.",
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
  );
  for (const name of ['podeip_binder_queue_depth', 'podeip_binder_eips_bound']) registry.removeSingleMetric(name);
  new Gauge({
    name: 'podeip_binder_queue_depth',
    help: 'Pod keys waiting for a worker (delayed and in-progress keys not counted).',
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'podeip_binder_eips_bound',
    help: 'PodEIPs whose EIP is InUse, as their status last recorded it.',
    registers: [registry],
    collect() {
      this.set(sources.eipsBound());
    },
  });

  const waiting = new Map<string, { uid: string; at: number }>();
  return {
    reconciled: (result) => reconciles.inc({ result }),
    waitingSince(key, uid, at) {
      const known = waiting.get(key);
      if (known === undefined || known.uid !== uid) waiting.set(key, { uid, at });
    },
    bound(key, uid, at) {
      const known = waiting.get(key);
      if (known === undefined || known.uid !== uid) return;
      waiting.delete(key);
      bindSeconds.observe(Math.max(0, at - known.at) / 1000);
    },
    forget: (key) => void waiting.delete(key),
    collected: (action) => gcActions.inc({ action }),
    refused: (reason) => refusals.inc({ reason }),
  };
}
