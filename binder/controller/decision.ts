/**
 * The vocabulary of the binder's decisions: what it observed of one pod key, the actions it may take,
 * the condition reasons and waits. decide.ts binds; decide-release.ts undoes a binding.
 */
import { EIP_CONDITION_REASON_BOUND } from '../../api/constants.js';
import type { AutoEipRequest } from '../../api/eip-request.js';
import type { PodEIP, PodEIPAllocationType, PodEIPSpec, PodEIPStatus } from '../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';
import type { PodProjection } from '../kube/pod-projection.js';

/** podeip's own bookkeeping on a PodEIP; ACK's schema has no field for either. */
export const PODEIP_POD_UID_ANNOTATION = 'podeip.io/pod-uid';
/** On every PodEIP podeip creates; a record with neither it nor the pod-uid annotation is another controller's. */
export const PODEIP_MANAGED_BY_LABEL = { key: 'app.kubernetes.io/managed-by', value: 'podeip' } as const;
/**
 * Whether podeip wrote this record: it carries podeip's label or its pod-uid annotation. ACK's and
 * Terway's EIP controllers write PodEIPs of the same kind; what they keep, podeip never touches.
 */
export function writtenByPodeip(podEip: PodEIP): boolean {
  return (
    podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] !== undefined ||
    podEip.metadata.labels?.[PODEIP_MANAGED_BY_LABEL.key] === PODEIP_MANAGED_BY_LABEL.value
  );
}

/** Bumped when an allocation must be replaced (the EIP vanished), so the next Allocate has a fresh ClientToken. */
export const PODEIP_ALLOCATION_ATTEMPT_ANNOTATION = 'podeip.io/allocation-attempt';

/** Condition reasons; each failure kind has its own, so `kubectl get pod -o yaml` says what is wrong. */
export const REASONS = {
  bound: EIP_CONDITION_REASON_BOUND,
  invalidAnnotations: 'InvalidEipAnnotations',
  hostNetwork: 'HostNetworkNotSupported',
  noNetworkInterface: 'NoNetworkInterface',
  nodePrimaryInterface: 'NodePrimaryNetworkInterface',
  eipNotFound: 'EipNotFound',
  inUseByAnotherPod: 'EipInUseByAnotherPod',
  boundElsewhere: 'EipBoundElsewhere',
  waitingForPreviousPod: 'WaitingForPreviousPod',
  allocating: 'AllocatingEip',
  associating: 'AssociatingEip',
  noEipRequested: 'NoEipRequested',
  /** A newer pod of the same workload takes the static EIP over (a rolling update). */
  takingOverEip: 'TakingOverEip',
  /** This pod handed its static EIP to a newer pod of its workload. */
  eipHandedOver: 'EipHandedOver',
  /** A bound EIP found unbound (by someone else): the pod is not Ready until it is bound again. */
  eipUnbound: 'EipUnbound',
  podFinished: 'PodFinished',
  /** An Event reason only: the pod's PodEIP belongs to another controller (ACK's or Terway's EIP feature). */
  podEipOwnedElsewhere: 'PodEipOwnedElsewhere',
  /** An Event reason only: Never or TTL on a pod whose controller generates names. */
  releaseStrategyFallback: 'ReleaseStrategyFallback',
  /** An Event reason only: a PrePaid EIP podeip allocated outlives its pod, billed until its term ends. */
  prepaidEipKept: 'PrepaidEipKept',
  /** The static EIP is recorded by a PodEIP of another namespace, or bound to a pod there: never taken. */
  claimedElsewhere: 'EipClaimedElsewhere',
  /**
   * Release or unbind refused: the EIP does not carry the tags podeip gave the EIP it allocated for this
   * record, or another PodEIP records it too. An Event reason (and a metric), on the PodEIP.
   */
  notPodeipsToUndo: 'EipNotPodeipsToUndo',
  /** No EIPPolicy lets the pod's namespace have the EIP it asks for (the webhook was bypassed, or a policy changed). */
  policyDenied: 'EipPolicyDenied',
} as const;

/** How long to wait before looking again, by situation. The cloud's transitions take seconds. */
export const WAIT_MS = {
  transition: 2_000,
  /**
   * Looks after an Associate, until the EIP is InUse: the pod waits on them for its readiness, and each is
   * a DescribeEipAddresses shared with every other pod looking then, so they come sooner than the rest.
   * Ready comes within a second of the association, whatever the cloud takes.
   */
  associating: 1_000,
  heldByAnotherPod: 15_000,
  /**
   * Looks while taking a static EIP over from an older pod: it serves no one until it is bound again, so
   * its unbinding is watched closely (a handover is rare; the looks are few).
   */
  handover: 250,
  misconfigured: 60_000,
  ttlCheckCap: 10 * 60_000,
} as const;

/** Bound pods are looked at again this often, to notice drift (an EIP unbound behind podeip's back). */
export const RESYNC_BOUND_MS = 10 * 60_000;
/**
 * A bound pod's podLastSeen older than this is stamped again on its resync when its strategy is TTL (the
 * only one that reads it), so the TTL counts from no more than a resync before the pod went, even when
 * the binder never saw it terminating (it was down then).
 */
export const POD_LAST_SEEN_REFRESH_MS = RESYNC_BOUND_MS / 2;

export interface ConditionUpdate {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export type Observation = 'network-interface' | 'eip' | 'tagged-eips' | 'ip-holder' | 'successor' | 'claims' | 'policy';

/** What the cluster's EIPPolicies say of the pod's request (api/eip-policy.ts), the cloud consulted if need be. */
export type PolicyVerdict = { allowed: true } | { allowed: false; message: string };

/** A live pod, as another key's decision sees it. */
export interface OtherPod {
  namespace: string;
  name: string;
  workload?: string;
  createdAt?: string;
  /** The Deployment revision of its ReplicaSet, when it is of this pod's Deployment and could be read. */
  revision?: number;
}

/**
 * PodEIPs of other namespaces that recorded the same EIP before this pass's own did. The first record
 * keeps it: a later one elsewhere (a tenant naming another's EIP) neither takes it nor undoes its binding.
 */
export interface EipClaims {
  earlierInOtherNamespaces: number;
}

export interface Observed {
  namespace: string;
  name: string;
  /** Undefined: the pod is gone. */
  pod?: PodProjection;
  podEip?: PodEIP;
  /** Looked up for the pod's IP: the ENI holding it, or null when no ENI in the VPC holds it. */
  networkInterface?: NetworkInterfaceMatch | null;
  /** The EIP the PodEIP (or the static annotation) names: its state, or null when it does not exist. */
  eip?: EipState | null;
  /** EIPs tagged as allocated for the PodEIP's pod, found after a crash between Allocate and recording it. */
  taggedEips?: EipState[];
  /** The live pod (other than this one) whose IP the EIP is bound to, or null when none. */
  ipHolder?: OtherPod | null;
  /** The Deployment revision of this pod's ReplicaSet, read with ipHolder when both are of one Deployment. */
  podRevision?: number;
  /**
   * A newer live pod of this pod's workload asking for the same static EIP (a rolling update's new pod), or
   * null when none: this pod then hands the EIP over, and takes it again only once no newer pod wants it.
   */
  successor?: OtherPod | null;
  /** Other PodEIPs recording the same EIP (from the cache), by where they are. */
  claims?: EipClaims;
  /** Whether an EIPPolicy lets the pod's namespace have what it asks for. */
  policy?: PolicyVerdict;
  /** This cluster's id, as written into the ownership tags of the EIPs podeip allocates. */
  clusterId?: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** Controller kinds whose pods keep their names (Never and TTL apply to them); default StatefulSet. */
  statefulKinds?: readonly string[];
}

export type Action =
  | { type: 'create-podeip'; spec: PodEIPSpec; podUid: string }
  | { type: 'adopt-podeip'; podUid: string }
  | { type: 'allocate-eip'; request: AutoEipRequest; podUid: string; attempt: number }
  | { type: 'record-allocation'; allocationId: string; attempt?: number }
  /** The pod's release strategy changed: the record says what happens when the pod goes. */
  | { type: 'record-release-strategy'; allocationType: PodEIPAllocationType }
  | { type: 'add-to-bandwidth-package'; allocationId: string; bandwidthPackageId: string; podUid: string }
  | { type: 'remove-from-bandwidth-package'; allocationId: string; bandwidthPackageId: string; podUid: string }
  | { type: 'associate-eip'; allocationId: string; networkInterface: NetworkInterfaceMatch; podUid: string }
  | { type: 'unassociate-eip'; allocationId: string; networkInterfaceId: string; privateIp: string; podUid: string }
  | { type: 'release-eip'; allocationId: string }
  /** The whole status podeip keeps: fields it writes that are missing here are removed. */
  | { type: 'write-podeip-status'; status: PodEIPStatus }
  /** null removes the annotation. */
  | { type: 'annotate-pod'; address: string | null }
  | { type: 'set-condition'; condition: ConditionUpdate }
  /** On the pod; `onController`: on its controller too (a Deployment pod's ReplicaSet), where its author looks. */
  /** `onPodEip`: on the PodEIP instead, which outlives the pod (the pod may be gone). */
  | {
      type: 'event';
      eventType: 'Normal' | 'Warning';
      reason: string;
      message: string;
      onController?: boolean;
      onPodEip?: boolean;
    }
  | { type: 'finish-podeip' };

export type Decision =
  | { kind: 'observe'; what: Observation }
  /** Perform the actions in order; then look again after `requeueAfterMs` (0: at once), or not at all. */
  | { kind: 'act'; actions: Action[]; requeueAfterMs?: number };

export const done = (actions: Action[] = [], requeueAfterMs?: number): Decision => ({
  kind: 'act',
  actions,
  ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
});
export const observe = (what: Observation): Decision => ({ kind: 'observe', what });

/** A failure the user must fix: the condition says what, a Warning Event says it once. */
export function failure(reason: string, message: string, requeueAfterMs?: number): Decision {
  return done(
    [
      { type: 'set-condition', condition: { status: 'False', reason, message } },
      { type: 'event', eventType: 'Warning', reason, message },
    ],
    requeueAfterMs,
  );
}

/** A step on the way to a binding; only shown while the pod is not bound yet, never over a True condition. */
export function progress(observed: Observed, reason: string, message: string): Action[] {
  return observed.pod?.eipCondition?.status === 'True'
    ? []
    : [{ type: 'set-condition', condition: { status: 'False', reason, message } }];
}
