/**
 * Binding a live pod that asks for an EIP and has its PodEIP: a short chain of named checks, in the order
 * the binding is built (the record matches the request, the pod is on an ENI, an EIP is allocated and
 * exists, it is in the asked-for package, it is bound). Each check returns the decision to stop at, or
 * lets the next one decide; the ones that find the ENI or the EIP hand it on.
 */
import { EIP_HANDOVER_ANNOTATION } from '../../api/constants.js';
import type { EipRequest } from '../../api/eip-request.js';
import type { PodEIP, PodEIPStatus } from '../../api/podeip.js';
import { podEipSpecFor } from '../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';
import { isNewer, type PodProjection } from '../kube/pod-projection.js';
import { decideAfterPod, isRecordedBinding, unassociateRecorded } from './decide-release.js';
import {
  PODEIP_ALLOCATION_ATTEMPT_ANNOTATION,
  POD_LAST_SEEN_REFRESH_MS,
  REASONS,
  RESYNC_BOUND_MS,
  WAIT_MS,
  done,
  failure,
  observe,
  progress,
  type Action,
  type Decision,
  type Observed,
} from './decision.js';
import { allocatedForRecord } from './ownership.js';
import { podEipStatusFor, sameStatus } from './podeip-status.js';

/** A live pod with an IP, its PodEIP, and the valid request its annotations make. */
export interface Binding {
  observed: Observed;
  pod: PodProjection;
  podEip: PodEIP;
  request: EipRequest;
}

/** A binding whose ENI and EIP have been found. */
export interface LocatedBinding extends Binding {
  eni: NetworkInterfaceMatch;
  eip: EipState;
}

export function decideBound(binding: Binding): Decision {
  const early = anotherEipAsked(binding) ?? releaseStrategyChanged(binding);
  if (early !== undefined) return early;
  // The ENI comes before any allocation: a pod no EIP can reach (overlay, node NIC) must not cost an EIP.
  const eni = usableNetworkInterface(binding);
  if (isDecision(eni)) return eni;
  const allocation = allocationNeeded(binding);
  if (allocation !== undefined) return allocation;
  const eip = recordedEip(binding);
  if (isDecision(eip)) return eip;
  const notOurs = notThisRecordsToBind(binding, eip);
  if (notOurs !== undefined) return notOurs;
  const located = { ...binding, eni, eip };
  return bandwidthPackageToJoin(located) ?? alreadyBound(located) ?? nextBindingStep(located);
}

function isDecision(value: Decision | NetworkInterfaceMatch | EipState): value is Decision {
  return 'kind' in value;
}

/** The annotations now ask for another EIP (or another kind): the old binding is undone first. */
export function anotherEipAsked({ observed, podEip, request }: Binding): Decision | undefined {
  const recordedKind = podEip.spec.allocationType.type === 'Static' ? 'static' : 'auto';
  const otherStatic = request.mode === 'static' && podEip.spec.allocationID !== request.allocationId;
  // A static EIP is never released, only unbound.
  return recordedKind !== request.mode || otherStatic ? decideAfterPod(observed, podEip) : undefined;
}

/** The release strategy changed: written at once, so a pod deleted right after is released as it now asks. */
export function releaseStrategyChanged({ podEip, request }: Binding): Decision | undefined {
  const wanted = podEipSpecFor(request, podEip.spec.allocationID).allocationType;
  const recorded = podEip.spec.allocationType;
  if (wanted.releaseStrategy === recorded.releaseStrategy && wanted.releaseAfter === recorded.releaseAfter)
    return undefined;
  return done([{ type: 'record-release-strategy', allocationType: wanted }], 0);
}

/** The pod's ENI, once looked up, when an EIP can be bound to it. */
export function usableNetworkInterface({ observed, pod }: Binding): Decision | NetworkInterfaceMatch {
  const eni = observed.networkInterface;
  if (eni === undefined) return observe('network-interface');
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
  return eni;
}

/**
 * An auto request with no EIP recorded: one tagged for the pod (allocated before a crash) is recorded,
 * else one is allocated.
 */
export function allocationNeeded({ observed, pod, podEip, request }: Binding): Decision | undefined {
  if (request.mode !== 'auto' || podEip.spec.allocationID !== '') return undefined;
  if (observed.taggedEips === undefined) return observe('tagged-eips');
  const found = observed.taggedEips[0];
  if (found) return done([{ type: 'record-allocation', allocationId: found.allocationId }], 0);
  return done(
    [
      ...progress(observed, REASONS.allocating, 'allocating an EIP'),
      { type: 'allocate-eip', request, podUid: pod.uid, attempt: allocationAttempt(podEip) },
    ],
    0,
  );
}

/** The EIP the record names, once looked up, when it exists. */
export function recordedEip({ observed, podEip, request }: Binding): Decision | EipState {
  const allocationId = podEip.spec.allocationID;
  if (observed.eip === undefined) return observe('eip');
  if (observed.eip !== null) return observed.eip;
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

/**
 * An EIP this record may not bind: an auto one without the ownership tags podeip gave the EIP it allocated
 * for this record (a hand-written record naming someone else's EIP), or a static one a PodEIP of another
 * namespace recorded first. The message names no object of another namespace.
 */
export function notThisRecordsToBind({ observed, podEip, request }: Binding, eip: EipState): Decision | undefined {
  if (request.mode === 'auto') {
    if (allocatedForRecord(eip, podEip, observed.clusterId ?? '')) return undefined;
    return failure(
      REASONS.notPodeipsToUndo,
      `the EIP ${eip.allocationId} recorded for this pod was not allocated by podeip for it (its ownership tags ` +
        'say otherwise), so podeip does not bind it; delete the PodEIP and podeip allocates one',
      WAIT_MS.misconfigured,
    );
  }
  if (observed.claims === undefined) return observe('claims');
  if (observed.claims.earlierInOtherNamespaces === 0) return undefined;
  return failure(
    REASONS.claimedElsewhere,
    `the EIP ${eip.allocationId} is recorded for a pod of another namespace, so podeip does not bind it here`,
    WAIT_MS.misconfigured,
  );
}

/** An auto EIP bound here or free, outside the bandwidth package the pod asks for: it joins it first. */
export function bandwidthPackageToJoin({ pod, podEip, request, eni, eip }: LocatedBinding): Decision | undefined {
  const wanted = request.mode === 'auto' ? request.commonBandwidthPackageId : undefined;
  if (!wanted || eip.bandwidthPackageId === wanted) return undefined;
  if (!isBoundTo(eip, eni) && eip.status !== 'Available') return undefined;
  const allocationId = podEip.spec.allocationID;
  return done(
    [{ type: 'add-to-bandwidth-package', allocationId, bandwidthPackageId: wanted, podUid: pod.uid }],
    WAIT_MS.transition,
  );
}

/** Bound to the pod's ENI and IP: whatever does not say so yet is written, and the pod is looked at next resync. */
export function alreadyBound(located: LocatedBinding): Decision | undefined {
  return isBoundTo(located.eip, located.eni) ? done(boundActions(located), RESYNC_BOUND_MS) : undefined;
}

/**
 * The EIP is free, and this pod held it (its condition is True) or handed it over: a newer pod of its workload
 * may be taking a static EIP over. A pod that handed it over takes it again only once no newer pod wants it
 * (that pod went, or a rollback made this pod's revision the newest), so the two never pull it back and forth.
 */
function givesWayToSuccessor({
  observed,
  pod,
  request,
  allocationId,
}: Pick<LocatedBinding, 'observed' | 'pod' | 'request'> & { allocationId: string }): Decision | undefined {
  const handedOver = pod.eipCondition?.reason === REASONS.eipHandedOver;
  if (pod.eipCondition?.status !== 'True' && !handedOver) return undefined;
  if (request.mode === 'static' && observed.successor === undefined) return observe('successor');
  if (!observed.successor) return undefined;
  const holder = `${observed.successor.namespace}/${observed.successor.name}`;
  const message = `the EIP ${allocationId} goes to ${holder}, a newer pod of ${pod.workload ?? 'its workload'}`;
  return done(
    [{ type: 'set-condition', condition: { status: 'False', reason: REASONS.eipHandedOver, message } }],
    WAIT_MS.heldByAnotherPod,
  );
}

/** Not bound here yet: associate a free EIP, move one this record bound before, or wait for the cloud. */
export function nextBindingStep({ observed, pod, podEip, request, eni, eip }: LocatedBinding): Decision {
  const allocationId = podEip.spec.allocationID;
  switch (eip.status) {
    case 'Available': {
      const givingWay = givesWayToSuccessor({ observed, pod, request, allocationId });
      if (givingWay !== undefined) return givingWay;
      if (pod.eipCondition?.status === 'True') {
        // It was bound and someone unbound it: the pod's public traffic stops now, so it leaves service
        // until the EIP is back, and a person learns who pulled it.
        const message = `the EIP ${allocationId} (${eip.ipAddress}) was found unbound from ${eni.networkInterfaceId}/${pod.podIP}, not by podeip; binding it again`;
        return done(
          [
            { type: 'set-condition', condition: { status: 'False', reason: REASONS.eipUnbound, message } },
            { type: 'event', eventType: 'Warning', reason: REASONS.eipUnbound, message },
            ...recordTarget(observed, podEip, eip, eni),
            { type: 'associate-eip', allocationId, networkInterface: eni, podUid: pod.uid },
          ],
          WAIT_MS.associating,
        );
      }
      return done(
        [
          ...progress(
            observed,
            REASONS.associating,
            `associating the EIP ${allocationId} (${eip.ipAddress}) with ${eni.networkInterfaceId}/${pod.podIP}`,
          ),
          ...recordTarget(observed, podEip, eip, eni),
          { type: 'associate-eip', allocationId, networkInterface: eni, podUid: pod.uid },
        ],
        WAIT_MS.associating,
      );
    }
    case 'InUse':
      if (isRecordedBinding(eip, podEip)) {
        // Still bound where this record last bound it (an earlier IP of the pod, or the previous pod of a TTL name).
        return done(
          [
            ...progress(
              observed,
              REASONS.associating,
              `moving the EIP ${allocationId} from ${eip.instanceId}/${eip.privateIpAddress || '(primary)'} to ${eni.networkInterfaceId}/${pod.podIP}`,
            ),
            unassociateRecorded(podEip),
          ],
          WAIT_MS.transition,
        );
      }
      return decideBoundElsewhere(observed, pod, eip, request);
    default:
      // Associating, Unassociating, Releasing, or a status this code does not know: the cloud is busy with it.
      return done(
        progress(observed, REASONS.associating, `waiting for the EIP ${allocationId}: it is ${eip.status}`),
        pod.eipCondition?.reason === REASONS.takingOverEip
          ? WAIT_MS.handover
          : eip.status === 'Associating'
            ? WAIT_MS.associating
            : WAIT_MS.transition,
      );
  }
}

function decideBoundElsewhere(observed: Observed, pod: PodProjection, eip: EipState, request: EipRequest): Decision {
  const where = `${eip.instanceType || 'instance'} ${eip.instanceId}${eip.privateIpAddress ? `/${eip.privateIpAddress}` : ''}`;
  if (request.mode === 'static' && eip.privateIpAddress !== '') {
    if (observed.ipHolder === undefined) return observe('ip-holder');
    if (observed.ipHolder !== null && observed.ipHolder.namespace !== observed.namespace) {
      // Never taken, not even by a pod of a workload of the same name; and nothing of that namespace is named.
      return failure(
        REASONS.claimedElsewhere,
        `the EIP ${eip.allocationId} is bound to a pod of another namespace, so podeip does not take it`,
        WAIT_MS.heldByAnotherPod,
      );
    }
    if (observed.ipHolder !== null) {
      const holder = `${observed.ipHolder.namespace}/${observed.ipHolder.name}`;
      const sameWorkload = pod.workload !== undefined && observed.ipHolder.workload === pod.workload;
      const optedOut = pod.eipAnnotations[EIP_HANDOVER_ANNOTATION] === 'disabled';
      // Within a Deployment the later revision is the newer (isNewer), whichever pod was created last.
      const ranked = observed.podRevision === undefined ? pod : { ...pod, revision: observed.podRevision };
      if (sameWorkload && !optedOut && isNewer(ranked, observed.ipHolder)) {
        // A rolling update: the new pod waits for the EIP the old one holds, and the old one waits for the new
        // one to be Ready. The newer takes it over; the older does not take it back while the newer wants it.
        const message = `taking the EIP ${eip.allocationId} over from ${holder}, an older pod of ${pod.workload}`;
        return done(
          [
            { type: 'set-condition', condition: { status: 'False', reason: REASONS.takingOverEip, message } },
            { type: 'event', eventType: 'Normal', reason: REASONS.takingOverEip, message },
            {
              type: 'unassociate-eip',
              allocationId: eip.allocationId,
              networkInterfaceId: eip.instanceId,
              privateIp: eip.privateIpAddress,
              podUid: pod.uid,
            },
          ],
          WAIT_MS.handover,
        );
      }
      if (sameWorkload && !optedOut) {
        // Looked at again: a rollback can make this pod's revision the newest while the other keeps the EIP.
        const message = `the EIP ${eip.allocationId} went to ${holder}, a newer pod of ${pod.workload}`;
        return done(
          [{ type: 'set-condition', condition: { status: 'False', reason: REASONS.eipHandedOver, message } }],
          WAIT_MS.heldByAnotherPod,
        );
      }
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

/**
 * Everything that says "bound": the PodEIP status, the pod annotation, the condition. Each is a no-op when already so.
 */
function boundActions({ observed, pod, podEip, eip, eni }: LocatedBinding): Action[] {
  const actions: Action[] = [];
  const now = new Date(observed.now).toISOString();
  const status = podEipStatusFor(eip, eni, podEip.status?.podLastSeen ?? now);
  const lastSeen = Date.parse(podEip.status?.podLastSeen ?? '');
  const stale =
    podEip.spec.allocationType.releaseStrategy === 'TTL' &&
    (Number.isNaN(lastSeen) || observed.now - lastSeen > POD_LAST_SEEN_REFRESH_MS);
  if (stale || !sameStatus(podEip.status, status))
    actions.push({ type: 'write-podeip-status', status: { ...status, podLastSeen: now } });
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
function recordTarget(observed: Observed, podEip: PodEIP, eip: EipState, eni: NetworkInterfaceMatch): Action[] {
  const recorded = podEip.status;
  if (recorded?.networkInterfaceID === eni.networkInterfaceId && recorded.privateIPAddress === eni.privateIp) return [];
  const status: PodEIPStatus = {
    networkInterfaceID: eni.networkInterfaceId,
    privateIPAddress: eni.privateIp,
    status: eip.status,
    podLastSeen: recorded?.podLastSeen ?? new Date(observed.now).toISOString(),
  };
  return [{ type: 'write-podeip-status', status }];
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
