/**
 * Where a release strategy applies: one rule for the webhook (which warns) and the binder (which records
 * what applies). Never and TTL keep an EIP for the next pod of the same name, so they make sense only
 * where a name comes back: pods of a StatefulSet or of another kind that keeps its pods' names (ACK's
 * customStatefulWorkloadKinds, an OpenKruise Advanced StatefulSet), and pods with no controller, whose
 * author picks the name. A controller that generates names (ReplicaSet, Job, DaemonSet, …) would leave
 * every replaced pod's EIP allocated and billed forever: there, the strategy falls back to Follow.
 */
import type { ReleaseStrategy } from './eip-request.js';

/** The kinds whose pods keep their names when none is configured. */
export const DEFAULT_STATEFUL_WORKLOAD_KINDS: readonly string[] = ['StatefulSet'];

export interface ReleaseStrategyDecision {
  strategy: ReleaseStrategy;
  /** Why the requested strategy does not apply, when it falls back to Follow (an Event's message). */
  fallback?: string;
  /** The same, short enough for an admission warning (they should stay within 120 characters). */
  warning?: string;
}

/** The strategy that applies to a pod with this controller (undefined: none) and what it asked for. */
export function effectiveReleaseStrategy(
  requested: ReleaseStrategy,
  controllerKind: string | undefined,
  statefulKinds: readonly string[] = DEFAULT_STATEFUL_WORKLOAD_KINDS,
): ReleaseStrategyDecision {
  if (requested.type === 'Follow' || controllerKind === undefined || statefulKinds.includes(controllerKind))
    return { strategy: requested };
  return {
    strategy: { type: 'Follow' },
    fallback:
      `release strategy ${requested.type} falls back to Follow for a pod of a ${controllerKind}: it keeps the EIP ` +
      `for the next pod of the same name, and a ${controllerKind}'s pods get new names, so the EIP would stay ` +
      `allocated and billed; it applies to pods of ${statefulKinds.join(', ')} and to pods with no controller`,
    warning: `is Follow here: ${controllerKind} pods get new names`,
  };
}
