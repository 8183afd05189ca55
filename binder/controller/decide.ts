/**
 * The binder's decisions, as a pure function of what it observed. `decideBinding` looks at one pod key
 * (namespace/name) and returns the next step: observe something more, or act and come back. The
 * reconciler (reconcile.ts) fetches observations lazily and performs at most one cloud write per pass, so
 * every pass is short, idempotent and safe to repeat after a crash.
 */
import { EIP_CONDITION_REASON_BOUND } from '../../api/constants.js';
import { describeProblem, type AutoEipRequest, type EipRequest } from '../../api/eip-request.js';
import { eipAnnotationFingerprint, parseEipAnnotationsMemoized, type parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP, PodEIPAllocationType, PodEIPSpec, PodEIPStatus } from '../../api/podeip.js';
import { podEipSpecFor } from '../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';
import { allocatedEipAddress, type PodProjection } from '../kube/pod-projection.js';
import { podEipStatusFor, sameStatus, ttlExpiry } from './podeip-status.js';

export { podEipStatusFor, ttlExpiry } from './podeip-status.js';

/** podeip's own bookkeeping on a PodEIP; ACK's schema has no field for either. */
export const PODEIP_POD_UID_ANNOTATION = 'podeip.io/pod-uid';
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
  podFinished: 'PodFinished',
} as const;

/** How long to wait before looking again, by situation. The cloud's transitions take seconds. */
export const WAIT_MS = {
  transition: 2_000,
  heldByAnotherPod: 15_000,
  misconfigured: 60_000,
  ttlCheckCap: 10 * 60_000,
} as const;

/** Bound pods are looked at again this often, to notice drift (an EIP unbound behind podeip's back). */
export const RESYNC_BOUND_MS = 10 * 60_000;

export interface ConditionUpdate {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export type Observation = 'network-interface' | 'eip' | 'tagged-eips' | 'ip-holder';

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
  ipHolder?: { namespace: string; name: string } | null;
  /** Milliseconds since the epoch. */
  now: number;
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
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string }
  | { type: 'finish-podeip' };

export type Decision =
  | { kind: 'observe'; what: Observation }
  /** Perform the actions in order; then look again after `requeueAfterMs` (0: at once), or not at all. */
  | { kind: 'act'; actions: Action[]; requeueAfterMs?: number };

const done = (actions: Action[] = [], requeueAfterMs?: number): Decision => ({
  kind: 'act',
  actions,
  ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
});
const observe = (what: Observation): Decision => ({ kind: 'observe', what });

/** A failure the user must fix: the condition says what, a Warning Event says it once. */
function failure(reason: string, message: string, requeueAfterMs?: number): Decision {
  return done(
    [
      { type: 'set-condition', condition: { status: 'False', reason, message } },
      { type: 'event', eventType: 'Warning', reason, message },
    ],
    requeueAfterMs,
  );
}

/** A step on the way to a binding; only shown while the pod is not bound yet, never over a True condition. */
function progress(o: Observed, reason: string, message: string): Action[] {
  return o.pod?.eipCondition?.status === 'True' ? [] : [{ type: 'set-condition', condition: { status: 'False', reason, message } }];
}

export function decideBinding(o: Observed): Decision {
  const { pod, podEip } = o;
  const ownerUid = podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION];
  // Someone deleted the PodEIP (ACK's way to release a Never EIP by hand): undo it whatever the strategy.
  if (podEip?.metadata.deletionTimestamp !== undefined) return decideAfterPod(o, podEip, { deleted: true });
  if (!pod) return podEip ? decideAfterPod(o, podEip) : done();

  // Called on every reconcile of every EIP pod; the annotations rarely change, so the parse is shared.
  const parsed = parseEipAnnotationsMemoized(pod.eipAnnotations, eipAnnotationFingerprint(pod.eipAnnotations));
  if (podEip && ownerUid !== undefined && ownerUid !== pod.uid) return decideForPreviousPodsRecord(o, pod, podEip, parsed);
  if (parsed.kind === 'none') return podEip ? decideAfterPod(o, podEip) : decideNothingAsked(pod);
  if (parsed.kind === 'invalid') {
    return failure(REASONS.invalidAnnotations, parsed.problems.map(describeProblem).join('; '));
  }
  if (pod.hostNetwork) {
    return failure(REASONS.hostNetwork, 'a hostNetwork pod shares its node\'s IP, and an EIP is bound to a pod\'s own IP; remove hostNetwork or the EIP annotations');
  }
  // Terminating: the app still runs through its grace period, so the binding stays until the pod is gone.
  if (pod.deletionTimestamp !== undefined) return decideTerminating(o, podEip);
  if (hasFinished(pod)) return decideFinished(o, pod, podEip);
  if (!pod.podIP) return done();

  const request = parsed.request;
  if (!podEip) {
    const allocationId = request.mode === 'static' ? request.allocationId : '';
    // The PodEIP records the intent before any cloud call, so a crash after Allocate cannot lose the EIP.
    return done([{ type: 'create-podeip', spec: podEipSpecFor(request, allocationId), podUid: pod.uid }], 0);
  }
  return decideBound(o, pod, podEip, request);
}

function decideBound(o: Observed, pod: PodProjection, podEip: PodEIP, request: EipRequest): Decision {
  const allocationId = podEip.spec.allocationID;
  const recordedKind = podEip.spec.allocationType.type === 'Static' ? 'static' : 'auto';
  if (recordedKind !== request.mode || (request.mode === 'static' && allocationId !== request.allocationId)) {
    // The annotations now ask for another EIP (or another kind): undo the old binding first (a static EIP is never released).
    return decideAfterPod(o, podEip);
  }
  const wantedType = podEipSpecFor(request, allocationId).allocationType;
  const recordedType = podEip.spec.allocationType;
  if (wantedType.releaseStrategy !== recordedType.releaseStrategy || wantedType.releaseAfter !== recordedType.releaseAfter) {
    // Written at once, so a pod deleted right after the change is released as it now asks.
    return done([{ type: 'record-release-strategy', allocationType: wantedType }], 0);
  }

  // The ENI comes before any allocation: a pod no EIP can reach (overlay, node NIC) must not cost an EIP.
  if (o.networkInterface === undefined) return observe('network-interface');
  const eni = o.networkInterface;
  if (eni === null) {
    return failure(
      REASONS.noNetworkInterface,
      `no ENI in the VPC holds the pod IP ${pod.podIP}: an EIP needs pods on ENI IPs (Terway); overlay networks cannot have one`,
      WAIT_MS.misconfigured,
    );
  }
  if (eni.type === 'Primary') {
    return failure(
      REASONS.nodePrimaryInterface,
      `the pod IP ${pod.podIP} is on the node's primary network interface ${eni.networkInterfaceId}; podeip binds EIPs to pod ENIs only`,
      WAIT_MS.misconfigured,
    );
  }

  if (request.mode === 'auto' && allocationId === '') {
    if (o.taggedEips === undefined) return observe('tagged-eips');
    const found = o.taggedEips[0];
    if (found) return done([{ type: 'record-allocation', allocationId: found.allocationId }], 0);
    return done(
      [
        ...progress(o, REASONS.allocating, 'allocating an EIP'),
        { type: 'allocate-eip', request, podUid: pod.uid, attempt: allocationAttempt(podEip) },
      ],
      0,
    );
  }

  if (o.eip === undefined) return observe('eip');
  const eip = o.eip;
  if (eip === null) {
    if (request.mode === 'static') {
      return failure(REASONS.eipNotFound, `the EIP ${allocationId} does not exist in this region`, WAIT_MS.misconfigured);
    }
    // Our EIP was released behind our back: allocate a new one, with a new ClientToken.
    const message = `the EIP ${allocationId} allocated for this pod no longer exists; allocating another`;
    return done(
      [
        { type: 'record-allocation', allocationId: '', attempt: allocationAttempt(podEip) + 1 },
        { type: 'event', eventType: 'Warning', reason: REASONS.eipNotFound, message },
      ],
      0,
    );
  }

  const wantedPackage = request.mode === 'auto' ? request.commonBandwidthPackageId : undefined;
  if (isBoundTo(eip, eni)) {
    if (wantedPackage && eip.bandwidthPackageId !== wantedPackage) {
      return done([{ type: 'add-to-bandwidth-package', allocationId, bandwidthPackageId: wantedPackage, podUid: pod.uid }], WAIT_MS.transition);
    }
    return done(boundActions(o, pod, podEip, eip, eni), RESYNC_BOUND_MS);
  }

  switch (eip.status) {
    case 'Available':
      if (wantedPackage && eip.bandwidthPackageId !== wantedPackage) {
        return done([{ type: 'add-to-bandwidth-package', allocationId, bandwidthPackageId: wantedPackage, podUid: pod.uid }], WAIT_MS.transition);
      }
      return done(
        [
          ...progress(o, REASONS.associating, `associating the EIP ${allocationId} (${eip.ipAddress}) with ${eni.networkInterfaceId}/${pod.podIP}`),
          ...recordTarget(o, podEip, eip, eni),
          { type: 'associate-eip', allocationId, networkInterface: eni, podUid: pod.uid },
        ],
        WAIT_MS.transition,
      );
    case 'InUse':
      if (isRecordedBinding(eip, podEip)) {
        // Still bound where this record last bound it (an earlier IP of the pod, or the previous pod of a TTL name).
        return done(
          [
            ...progress(o, REASONS.associating, `moving the EIP ${allocationId} from ${eip.instanceId}/${eip.privateIpAddress || '(primary)'} to ${eni.networkInterfaceId}/${pod.podIP}`),
            unassociateRecorded(podEip),
          ],
          WAIT_MS.transition,
        );
      }
      return decideBoundElsewhere(o, eip, request);
    default:
      // Associating, Unassociating, Releasing, or a status this code does not know: the cloud is busy with it.
      return done(progress(o, REASONS.associating, `waiting for the EIP ${allocationId}: it is ${eip.status}`), WAIT_MS.transition);
  }
}

function decideBoundElsewhere(o: Observed, eip: EipState, request: EipRequest): Decision {
  const where = `${eip.instanceType || 'instance'} ${eip.instanceId}${eip.privateIpAddress ? `/${eip.privateIpAddress}` : ''}`;
  if (request.mode === 'static' && eip.privateIpAddress !== '') {
    if (o.ipHolder === undefined) return observe('ip-holder');
    if (o.ipHolder !== null) {
      const holder = `${o.ipHolder.namespace}/${o.ipHolder.name}`;
      return failure(
        REASONS.inUseByAnotherPod,
        `the EIP ${eip.allocationId} is bound to the pod ${holder} (${where}); waiting until that pod lets it go`,
        WAIT_MS.heldByAnotherPod,
      );
    }
  }
  // podeip does not take an EIP from a resource it did not bind (Terway's "rob" is off by design).
  return failure(
    REASONS.boundElsewhere,
    `the EIP ${eip.allocationId} is bound to ${where}, not to this pod; unbind it there and podeip will bind it here`,
    WAIT_MS.misconfigured,
  );
}

/** Everything that says "bound": the PodEIP status, the pod annotation, the condition. Each is a no-op when already so. */
function boundActions(o: Observed, pod: PodProjection, podEip: PodEIP, eip: EipState, eni: NetworkInterfaceMatch): Action[] {
  const actions: Action[] = [];
  const status = podEipStatusFor(eip, eni, podEip.status?.podLastSeen ?? new Date(o.now).toISOString());
  if (!sameStatus(podEip.status, status)) actions.push({ type: 'write-podeip-status', status: { ...status, podLastSeen: new Date(o.now).toISOString() } });
  actions.push({ type: 'annotate-pod', address: eip.ipAddress });
  const message = `EIP ${eip.allocationId} (${eip.ipAddress}) is bound to ${eni.networkInterfaceId}/${pod.podIP}`;
  const wasTrue = pod.eipCondition?.status === 'True';
  actions.push({ type: 'set-condition', condition: { status: 'True', reason: REASONS.bound, message } });
  if (!wasTrue) actions.push({ type: 'event', eventType: 'Normal', reason: 'EipBound', message });
  return actions;
}

/**
 * The ENI and IP about to be associated, written before the call (no address yet, so nothing reads it as
 * bound): should the pod go before the status says InUse, the unbinding still knows the binding is podeip's.
 */
function recordTarget(o: Observed, podEip: PodEIP, eip: EipState, eni: NetworkInterfaceMatch): Action[] {
  const recorded = podEip.status;
  if (recorded?.networkInterfaceID === eni.networkInterfaceId && recorded.privateIPAddress === eni.privateIp) return [];
  const status: PodEIPStatus = {
    networkInterfaceID: eni.networkInterfaceId,
    privateIPAddress: eni.privateIp,
    status: eip.status,
    podLastSeen: recorded?.podLastSeen ?? new Date(o.now).toISOString(),
  };
  return [{ type: 'write-podeip-status', status }];
}

/** The EIP is bound to the ENI and IP this PodEIP recorded, so the binding is podeip's to undo. */
function isRecordedBinding(eip: EipState, podEip: PodEIP): boolean {
  const recordedEni = podEip.status?.networkInterfaceID ?? '';
  const recordedIp = podEip.status?.privateIPAddress ?? '';
  return recordedEni !== '' && eip.instanceId === recordedEni && (eip.privateIpAddress === recordedIp || eip.privateIpAddress === '');
}

function unassociateRecorded(podEip: PodEIP): Action {
  return {
    type: 'unassociate-eip',
    allocationId: podEip.spec.allocationID,
    networkInterfaceId: podEip.status?.networkInterfaceID ?? '',
    privateIp: podEip.status?.privateIPAddress ?? '',
    podUid: podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? '',
  };
}

/**
 * A pod with no request and no record. Only what podeip once wrote is tidied: a stale address goes, and a
 * readiness gate nobody would satisfy is set True (aws-load-balancer-controller's escape hatch), so no pod
 * waits forever. A pod without either costs nothing.
 */
function decideNothingAsked(pod: PodProjection): Decision {
  const actions: Action[] = [];
  if (allocatedEipAddress(pod) !== undefined) actions.push({ type: 'annotate-pod', address: null });
  if (pod.hasEipReadinessGate && pod.eipCondition?.status !== 'True' && pod.deletionTimestamp === undefined) {
    const message = 'the pod asks for no EIP (no pod-with-eip or pod-eip-instanceid annotation), so there is nothing to wait for';
    actions.push({ type: 'set-condition', condition: { status: 'True', reason: REASONS.noEipRequested, message } });
  }
  return done(actions);
}

/** Bound to this ENI and IP. For an ENI's primary IP the API reports no private IP. */
function isBoundTo(eip: EipState, eni: NetworkInterfaceMatch): boolean {
  if (eip.status !== 'InUse' || eip.instanceId !== eni.networkInterfaceId) return false;
  return eip.privateIpAddress === eni.privateIp || (eni.isPrimaryIp && eip.privateIpAddress === '');
}

function allocationAttempt(podEip: PodEIP): number {
  const n = Number(podEip.metadata.annotations?.[PODEIP_ALLOCATION_ATTEMPT_ANNOTATION] ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The pod is terminating: stamp podLastSeen once (TTL counts from it), keep the binding until it is gone. */
function decideTerminating(o: Observed, podEip: PodEIP | undefined): Decision {
  const deletion = o.pod?.deletionTimestamp;
  if (!podEip || deletion === undefined) return done();
  const lastSeen = Date.parse(podEip.status?.podLastSeen ?? '');
  if (Number.isNaN(lastSeen) || lastSeen < Date.parse(deletion) - 60_000) {
    return done([{ type: 'write-podeip-status', status: { ...podEip.status, podLastSeen: new Date(o.now).toISOString() } }]);
  }
  return done();
}

/** Succeeded or Failed: every container has stopped for good and the CNI has given the pod's IP back. */
function hasFinished(pod: PodProjection): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

/**
 * The pod has finished (a Job's pod, say) but is not deleted yet. Its IP may already serve another pod, so
 * the binding must not outlive it: the EIP is handled as for a pod that is gone, per its strategy. The
 * first pass says so in the condition and stamps podLastSeen, so a TTL counts from the finish; the
 * condition's reason is the mark that this was done. A finished pod never gets a new binding, and once the
 * record is gone its address annotation goes too.
 */
function decideFinished(o: Observed, pod: PodProjection, podEip: PodEIP | undefined): Decision {
  if (pod.eipCondition?.status !== 'False' || pod.eipCondition.reason !== REASONS.podFinished) {
    const message = `the pod has finished (${pod.phase}); its EIP binding is undone as for a deleted pod`;
    const actions: Action[] = [{ type: 'set-condition', condition: { status: 'False', reason: REASONS.podFinished, message } }];
    if (podEip) actions.push({ type: 'write-podeip-status', status: { ...podEip.status, podLastSeen: new Date(o.now).toISOString() } });
    return done(actions, 0);
  }
  if (podEip) return decideAfterPod(o, podEip, { finished: true });
  return done(allocatedEipAddress(pod) === undefined ? [] : [{ type: 'annotate-pod', address: null }]);
}

/**
 * A PodEIP left by an earlier pod of the same name. Follow: that pod's EIP is undone first and this one
 * waits. TTL and Never keep the EIP for the next pod of the name (StatefulSets): this pod adopts it.
 */
function decideForPreviousPodsRecord(
  o: Observed,
  pod: PodProjection,
  podEip: PodEIP,
  parsed: ReturnType<typeof parseEipAnnotations>,
): Decision {
  const strategy = podEip.spec.allocationType.releaseStrategy;
  const sameKind =
    parsed.kind === 'request' &&
    (parsed.request.mode === 'auto'
      ? podEip.spec.allocationType.type === 'Auto'
      : podEip.spec.allocationType.type === 'Static' && podEip.spec.allocationID === parsed.request.allocationId);
  if (strategy !== 'Follow' && sameKind && podEip.metadata.deletionTimestamp === undefined) {
    return done([{ type: 'adopt-podeip', podUid: pod.uid }], 0);
  }
  const release = decideAfterPod(o, podEip);
  const waiting = progress(o, REASONS.waitingForPreviousPod, 'waiting for the EIP of the previous pod of this name to be released');
  return release.kind === 'act' ? { ...release, actions: [...waiting, ...release.actions] } : release;
}

/**
 * The pod is gone (or no longer wants this binding): undo it. Follow releases what podeip allocated and
 * only unbinds what it was given; TTL waits for `releaseAfter` from podLastSeen; Never keeps everything.
 */
function decideAfterPod(o: Observed, podEip: PodEIP, options: { deleted?: boolean; finished?: boolean } = {}): Decision {
  const type = podEip.spec.allocationType;
  const podStillWantsIt = !options.finished && o.pod !== undefined && o.pod.uid === podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION];
  const keep = !podStillWantsIt && !options.deleted;
  if (keep && type.releaseStrategy === 'Never') return done();
  if (keep && type.releaseStrategy === 'TTL') {
    const expiresAt = ttlExpiry(podEip);
    if (expiresAt !== undefined && o.now < expiresAt) return done([], Math.min(expiresAt - o.now, WAIT_MS.ttlCheckCap));
  }

  const allocationId = podEip.spec.allocationID;
  if (allocationId === '') {
    if (type.type !== 'Auto') return done([{ type: 'finish-podeip' }]);
    if (o.taggedEips === undefined) return observe('tagged-eips');
    const found = o.taggedEips[0];
    return done([found ? { type: 'record-allocation', allocationId: found.allocationId } : { type: 'finish-podeip' }], 0);
  }
  if (o.eip === undefined) return observe('eip');
  const eip = o.eip;
  if (eip === null) return done([{ type: 'finish-podeip' }]);

  const podUid = podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? '';
  switch (eip.status) {
    case 'InUse':
      // Only the binding podeip made is undone; another pod's (or anything else's) is never touched.
      if (isRecordedBinding(eip, podEip)) return done([unassociateRecorded(podEip)], WAIT_MS.transition);
      return done(
        [
          { type: 'event', eventType: 'Warning', reason: REASONS.boundElsewhere, message: `the EIP ${allocationId} is bound to ${eip.instanceId} by someone else; podeip leaves it as it is` },
          { type: 'finish-podeip' },
        ],
      );
    case 'Available':
      if (type.type !== 'Auto') return done([{ type: 'finish-podeip' }]);
      if (eip.bandwidthPackageId !== '') {
        // The removal takes the cloud a moment, as a binding does; asking again at once would only conflict.
        return done([{ type: 'remove-from-bandwidth-package', allocationId, bandwidthPackageId: eip.bandwidthPackageId, podUid }], WAIT_MS.transition);
      }
      return done([{ type: 'release-eip', allocationId }], WAIT_MS.transition);
    default:
      return done([], WAIT_MS.transition);
  }
}
