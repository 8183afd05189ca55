/**
 * Garbage collection of what no PodEIP accounts for. Every EIP podeip allocates carries this cluster's
 * ownership tags; one that no PodEIP names (a crash between Allocate and the record that recovery never
 * saw, a PodEIP whose finalizer someone removed, a namespace force-deleted) would stay allocated and
 * billed forever. The sweep lists this cluster's tagged EIPs, and each one that stays unaccounted for
 * through a grace period is unbound and released (a PrePaid one only unbound: the API cannot release it).
 * Nothing without this cluster's tags is ever touched. PodEIPs whose EIP no longer exists are handed to
 * the reconciler, which tidies them as it would any.
 */
import type { Logger } from 'pino';
import type { PodEIP } from '../../api/podeip.js';
import type { EipCloud, EipState } from '../cloud/eip-cloud.js';
import { describeClusterEips, inNamespaces, taggedOwner, unassociateAsFound } from '../cloud/tagged-eips.js';
import type { BinderMetrics } from './binder-metrics.js';
import { PODEIP_POD_UID_ANNOTATION } from './decision.js';

export type SweepStep =
  | { kind: 'wait'; eip: EipState }
  | { kind: 'unassociate'; eip: EipState }
  | { kind: 'release'; eip: EipState }
  /** PrePaid and unbound: nothing more podeip can do. */
  | { kind: 'keep'; eip: EipState };

export interface SweepPlan {
  steps: SweepStep[];
  /** When each orphan was first seen, for the next sweep: the ones no longer orphans are dropped. */
  firstSeen: Map<string, number>;
  /** PodEIPs (namespace/name) naming an EIP podeip allocated that no longer exists. */
  vanished: string[];
}

const keyOf = (podEip: PodEIP): string => `${podEip.metadata.namespace ?? ''}/${podEip.metadata.name ?? ''}`;

/** The sweep's decisions, from this cluster's tagged EIPs and the PodEIPs the cache holds. */
export function planSweep(input: {
  tagged: EipState[];
  podEips: PodEIP[];
  firstSeen: ReadonlyMap<string, number>;
  now: number;
  graceMs: number;
  /** The namespaces this binder watches (empty: all): an EIP of another namespace is not its to judge. */
  namespaces?: readonly string[];
}): SweepPlan {
  const named = new Set(input.podEips.map((podEip) => podEip.spec.allocationID).filter((id) => id !== ''));
  // A record with no allocation yet may be about to take a tagged EIP over (recovery after a crash).
  const recovering = new Set(
    input.podEips
      .filter((podEip) => podEip.spec.allocationID === '')
      .map((podEip) => podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? ''),
  );
  const firstSeen = new Map<string, number>();
  const steps: SweepStep[] = [];
  for (const eip of input.tagged) {
    if (!inNamespaces(eip, input.namespaces ?? [])) continue;
    if (named.has(eip.allocationId) || recovering.has(taggedOwner(eip).podUid ?? '')) continue;
    const since = input.firstSeen.get(eip.allocationId) ?? input.now;
    firstSeen.set(eip.allocationId, since);
    if (input.now - since < input.graceMs) steps.push({ kind: 'wait', eip });
    else if (eip.status === 'InUse') steps.push({ kind: 'unassociate', eip });
    else if (eip.status !== 'Available') steps.push({ kind: 'wait', eip });
    else steps.push({ kind: eip.instanceChargeType === 'PrePaid' ? 'keep' : 'release', eip });
  }
  const existing = new Set(input.tagged.map((eip) => eip.allocationId));
  const vanished = input.podEips
    .filter((p) => p.spec.allocationType.type === 'Auto' && p.spec.allocationID !== '')
    .filter((p) => !existing.has(p.spec.allocationID))
    .map(keyOf);
  return { steps, firstSeen, vanished };
}

export interface GarbageCollectorOptions {
  clusterId: string;
  cloud: EipCloud;
  podEips(): PodEIP[];
  /** Hands a PodEIP's key to the reconciler. */
  enqueue(key: string): void;
  graceMs: number;
  /** The namespaces the binder watches; empty: all. */
  namespaces: readonly string[];
  metrics: Pick<BinderMetrics, 'collected'>;
  logger: Logger;
  now?: () => number;
}

export class GarbageCollector {
  private firstSeen = new Map<string, number>();
  /** PrePaid orphans already reported: they stay, and are said once. */
  private readonly reportedKept = new Set<string>();
  private readonly logger: Logger;

  constructor(private readonly options: GarbageCollectorOptions) {
    this.logger = options.logger.child({ component: 'garbage-collector' });
  }

  /** One sweep; `signal` aborted (the leadership term ended) stops it before its next write. */
  async sweep(signal: AbortSignal): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    const tagged = await describeClusterEips(this.options.cloud, this.options.clusterId);
    // Read after the cloud: a record written meanwhile is seen, so a fresh allocation is never taken for an orphan.
    const plan = planSweep({
      tagged,
      podEips: this.options.podEips(),
      firstSeen: this.firstSeen,
      now,
      graceMs: this.options.graceMs,
      namespaces: this.options.namespaces,
    });
    this.firstSeen = plan.firstSeen;
    for (const key of plan.vanished) this.options.enqueue(key);
    for (const step of plan.steps) {
      if (signal.aborted) return;
      const { eip } = step;
      const owner = taggedOwner(eip);
      const fields = {
        allocationId: eip.allocationId,
        namespace: owner.namespace,
        pod: owner.podName,
        uid: owner.podUid,
      };
      if (step.kind === 'wait') continue;
      if (step.kind === 'keep') {
        if (this.reportedKept.has(eip.allocationId)) continue;
        this.reportedKept.add(eip.allocationId);
        this.logger.warn(fields, 'orphaned EIP is PrePaid: unbound, left to its term (it cannot be released)');
        this.options.metrics.collected('kept-prepaid');
        continue;
      }
      if (step.kind === 'unassociate') {
        await unassociateAsFound(this.options.cloud, eip, 'gc');
        this.logger.warn({ ...fields, networkInterfaceId: eip.instanceId }, 'orphaned EIP: asked to unassociate');
        this.options.metrics.collected('unassociated');
        continue;
      }
      const outcome = await this.options.cloud.releaseEip(eip.allocationId);
      this.logger.warn({ ...fields, outcome }, 'orphaned EIP: asked to release');
      this.firstSeen.delete(eip.allocationId);
      this.options.metrics.collected('released');
    }
  }
}
