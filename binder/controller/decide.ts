/**
 * The binder's decisions, as a pure function of what it observed. `decideBinding` looks at one pod key
 * (namespace/name) and returns the next step: observe something more, or act and come back. The
 * reconciler (reconcile.ts) fetches observations lazily and performs at most one cloud write per pass, so
 * every pass is short, idempotent and safe to repeat after a crash.
 */
import { describeProblem, type EipRequest } from '../../api/eip-request.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP, PodEIPStatus } from '../../api/podeip.js';
import { podEipSpecFor } from '../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';
import { allocatedEipAddress, hasFinished, type PodProjection } from '../kube/pod-projection.js';
import {
  decideAfterPod,
  decideFinished,
  decideForPreviousPodsRecord,
  decideTerminating,
  isRecordedBinding,
  unassociateRecorded,
} from './decide-release.js';
import {
  PODEIP_ALLOCATION_ATTEMPT_ANNOTATION,
  PODEIP_POD_UID_ANNOTATION,
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
import { podEipStatusFor, sameStatus } from './podeip-status.js';

export function decideBinding(o: Observed): Decision {
  const { pod, podEip } = o;
  const ownerUid = podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION];
  // Someone deleted the PodEIP (ACK's way to release a Never EIP by hand): undo it whatever the strategy.
  if (podEip?.metadata.deletionTimestamp !== undefined) return decideAfterPod(o, podEip, { deleted: true });
  if (!pod) return podEip ? decideAfterPod(o, podEip) : done();

  // Called on every reconcile of every EIP pod; the annotations rarely change, so the parse is shared.
  const parsed = parseEipAnnotations(pod.eipAnnotations);
  if (podEip && ownerUid !== undefined && ownerUid !== pod.uid)
    return decideForPreviousPodsRecord(o, pod, podEip, parsed);
  if (parsed.kind === 'none') return podEip ? decideAfterPod(o, podEip) : decideNothingAsked(pod);
  if (parsed.kind === 'invalid') {
    return failure(REASONS.invalidAnnotations, parsed.problems.map(describeProblem).join('; '));
  }
  if (pod.hostNetwork) {
    return failure(
      REASONS.hostNetwork,
      "a hostNetwork pod shares its node's IP, and an EIP is bound to a pod's own IP; remove hostNetwork or the EIP annotations",
    );
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
    // The annotations now ask for another EIP (or another kind): undo the old binding first (a static EIP is never
    // released).
    return decideAfterPod(o, podEip);
  }
  const wantedType = podEipSpecFor(request, allocationId).allocationType;
  const recordedType = podEip.spec.allocationType;
  if (
    wantedType.releaseStrategy !== recordedType.releaseStrategy ||
    wantedType.releaseAfter !== recordedType.releaseAfter
  ) {
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
      return failure(
        REASONS.eipNotFound,
        `the EIP ${allocationId} does not exist in this region`,
        WAIT_MS.misconfigured,
      );
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
      return done(
        [{ type: 'add-to-bandwidth-package', allocationId, bandwidthPackageId: wantedPackage, podUid: pod.uid }],
        WAIT_MS.transition,
      );
    }
    return done(boundActions(o, pod, podEip, eip, eni), RESYNC_BOUND_MS);
  }

  switch (eip.status) {
    case 'Available':
      if (wantedPackage && eip.bandwidthPackageId !== wantedPackage) {
        return done(
          [{ type: 'add-to-bandwidth-package', allocationId, bandwidthPackageId: wantedPackage, podUid: pod.uid }],
          WAIT_MS.transition,
        );
      }
      return done(
        [
          ...progress(
            o,
            REASONS.associating,
            `associating the EIP ${allocationId} (${eip.ipAddress}) with ${eni.networkInterfaceId}/${pod.podIP}`,
          ),
          ...recordTarget(o, podEip, eip, eni),
          { type: 'associate-eip', allocationId, networkInterface: eni, podUid: pod.uid },
        ],
        WAIT_MS.associating,
      );
    case 'InUse':
      if (isRecordedBinding(eip, podEip)) {
        // Still bound where this record last bound it (an earlier IP of the pod, or the previous pod of a TTL name).
        return done(
          [
            ...progress(
              o,
              REASONS.associating,
              `moving the EIP ${allocationId} from ${eip.instanceId}/${eip.privateIpAddress || '(primary)'} to ${eni.networkInterfaceId}/${pod.podIP}`,
            ),
            unassociateRecorded(podEip),
          ],
          WAIT_MS.transition,
        );
      }
      return decideBoundElsewhere(o, eip, request);
    default:
      // Associating, Unassociating, Releasing, or a status this code does not know: the cloud is busy with it.
      return done(
        progress(o, REASONS.associating, `waiting for the EIP ${allocationId}: it is ${eip.status}`),
        eip.status === 'Associating' ? WAIT_MS.associating : WAIT_MS.transition,
      );
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

/**
 * Everything that says "bound": the PodEIP status, the pod annotation, the condition. Each is a no-op when already so.
 */
function boundActions(
  o: Observed,
  pod: PodProjection,
  podEip: PodEIP,
  eip: EipState,
  eni: NetworkInterfaceMatch,
): Action[] {
  const actions: Action[] = [];
  const status = podEipStatusFor(eip, eni, podEip.status?.podLastSeen ?? new Date(o.now).toISOString());
  const lastSeen = Date.parse(podEip.status?.podLastSeen ?? '');
  const stale =
    podEip.spec.allocationType.releaseStrategy === 'TTL' &&
    (Number.isNaN(lastSeen) || o.now - lastSeen > POD_LAST_SEEN_REFRESH_MS);
  if (stale || !sameStatus(podEip.status, status))
    actions.push({ type: 'write-podeip-status', status: { ...status, podLastSeen: new Date(o.now).toISOString() } });
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

/**
 * A pod with no request and no record. Only what podeip once wrote is tidied: a stale address goes, and a
 * readiness gate nobody would satisfy is set True (aws-load-balancer-controller's escape hatch), so no pod
 * waits forever. A pod without either costs nothing.
 */
function decideNothingAsked(pod: PodProjection): Decision {
  const actions: Action[] = [];
  if (allocatedEipAddress(pod) !== undefined) actions.push({ type: 'annotate-pod', address: null });
  if (pod.hasEipReadinessGate && pod.eipCondition?.status !== 'True' && pod.deletionTimestamp === undefined) {
    const message =
      'the pod asks for no EIP (no pod-with-eip or pod-eip-instanceid annotation), so there is nothing to wait for';
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
