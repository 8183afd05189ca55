/**
 * Undoing a binding, as a pure function of what the binder observed: the pod is terminating, has
 * finished, is gone, no longer asks for this EIP, or left its record to the next pod of its name.
 */
import type { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP } from '../../api/podeip.js';
import type { EipState } from '../cloud/eip-cloud.js';
import { allocatedEipAddress, hasFinished, type PodProjection } from '../kube/pod-projection.js';
import {
  PODEIP_POD_UID_ANNOTATION,
  REASONS,
  WAIT_MS,
  done,
  observe,
  progress,
  type Action,
  type Decision,
  type Observed,
} from './decision.js';
import { allocatedForRecord } from './ownership.js';
import { ttlExpiry } from './podeip-status.js';

/** The EIP is bound to the ENI and IP this PodEIP recorded, so the binding is podeip's to undo. */
export function isRecordedBinding(eip: EipState, podEip: PodEIP): boolean {
  const recordedEni = podEip.status?.networkInterfaceID ?? '';
  const recordedIp = podEip.status?.privateIPAddress ?? '';
  return (
    recordedEni !== '' &&
    eip.instanceId === recordedEni &&
    (eip.privateIpAddress === recordedIp || eip.privateIpAddress === '')
  );
}

export function unassociateRecorded(podEip: PodEIP): Action {
  return {
    type: 'unassociate-eip',
    allocationId: podEip.spec.allocationID,
    networkInterfaceId: podEip.status?.networkInterfaceID ?? '',
    privateIp: podEip.status?.privateIPAddress ?? '',
    podUid: podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? '',
  };
}

/**
 * Undefined when this record may unbind or release `eip`; else the look still needed, or the refusal: a
 * Warning Event on the PodEIP, and the record goes without touching the EIP. Decided from the cloud's answer
 * and the records of other namespaces, never from this record's own fields, which a tenant could have written.
 */
export function refusalToUndo(observed: Observed, podEip: PodEIP, eip: EipState): Decision | undefined {
  let why: string;
  if (podEip.spec.allocationType.type === 'Auto') {
    if (allocatedForRecord(eip, podEip, observed.clusterId ?? '')) return undefined;
    why = `the EIP ${eip.allocationId} does not carry the ownership tags podeip gave the EIP it allocated for this record`;
  } else {
    if (observed.claims === undefined) return observe('claims');
    if (observed.claims.earlierInOtherNamespaces === 0) return undefined;
    why = `the static EIP ${eip.allocationId} was recorded for a pod of another namespace first`;
  }
  return done([
    {
      type: 'event',
      eventType: 'Warning',
      reason: REASONS.notPodeipsToUndo,
      message: `${why}, so podeip neither unbinds nor releases it; this record goes and the EIP stays as it is`,
      onPodEip: true,
    },
    { type: 'finish-podeip' },
  ]);
}

/** The pod is terminating: stamp podLastSeen once (TTL counts from it), keep the binding until it is gone. */
export function decideTerminating(observed: Observed, podEip: PodEIP | undefined): Decision {
  const deletion = observed.pod?.deletionTimestamp;
  if (!podEip || deletion === undefined) return done();
  const lastSeen = Date.parse(podEip.status?.podLastSeen ?? '');
  if (Number.isNaN(lastSeen) || lastSeen < Date.parse(deletion) - 60_000) {
    return done([
      { type: 'write-podeip-status', status: { ...podEip.status, podLastSeen: new Date(observed.now).toISOString() } },
    ]);
  }
  return done();
}

/**
 * The pod has finished (a Job's pod, say) but is not deleted yet. Its IP may already serve another pod, so
 * the binding must not outlive it whatever the strategy: the EIP is unbound, then released (Follow) or
 * kept for the next pod of the name (Never, and TTL until it expires). The first pass stamps podLastSeen,
 * so a TTL counts from the finish, and says so in the condition, whose reason then marks the stamp as done.
 * A finished pod never gets a new binding, and once it holds no EIP its address annotation goes.
 */
export function decideFinished(observed: Observed, pod: PodProjection, podEip: PodEIP | undefined): Decision {
  if (pod.eipCondition?.status !== 'False' || pod.eipCondition.reason !== REASONS.podFinished) {
    const message = `the pod has finished (${pod.phase}), so its IP is no longer its own: its EIP binding is undone`;
    // The stamp before the mark: should the status write fail, the retry still sees an unmarked pod and stamps.
    const actions: Action[] = podEip
      ? [
          {
            type: 'write-podeip-status',
            status: { ...podEip.status, podLastSeen: new Date(observed.now).toISOString() },
          },
        ]
      : [];
    actions.push({ type: 'set-condition', condition: { status: 'False', reason: REASONS.podFinished, message } });
    return done(actions, 0);
  }
  const dropAddress: Action[] = allocatedEipAddress(pod) === undefined ? [] : [{ type: 'annotate-pod', address: null }];
  if (!podEip) return done(dropAddress);
  if (podEip.spec.allocationType.releaseStrategy === 'Follow' || podEip.spec.allocationID === '')
    return decideAfterPod(observed, podEip, { finished: true });
  const unbinding = unbindKept(observed, podEip, dropAddress);
  return unbinding ?? decideAfterPod(observed, podEip, { finished: true });
}

/**
 * Never and TTL keep the EIP for the next pod of this name, but not on an IP the pod has given up: the CNI
 * hands that IP to the next pod (Terway keeps freed IPs warm), which would send its traffic out through
 * another workload's address. So the binding podeip made is undone and the record says so (no ENI or IP,
 * the cloud's status); the next pod of the name gets the EIP associated again. Undefined once there is
 * nothing bound to undo.
 */
function unbindKept(observed: Observed, podEip: PodEIP, alsoWhenUnbound: Action[] = []): Decision | undefined {
  if (podEip.spec.allocationID === '' || podEip.status?.networkInterfaceID === undefined) return undefined;
  if (observed.eip === undefined) return observe('eip');
  const eip = observed.eip;
  if (eip === null) return undefined;
  if (eip.status === 'InUse' && isRecordedBinding(eip, podEip))
    return refusalToUndo(observed, podEip, eip) ?? done([unassociateRecorded(podEip)], WAIT_MS.transition);
  if (eip.status === 'InUse' || eip.status === 'Available') {
    // Unbound, or bound since by someone else: either way no longer where this record says.
    const { networkInterfaceID: _eni, privateIPAddress: _ip, ...kept } = podEip.status;
    return done([{ type: 'write-podeip-status', status: { ...kept, status: eip.status } }, ...alsoWhenUnbound], 0);
  }
  return done([], WAIT_MS.transition);
}

/**
 * A PodEIP left by an earlier pod of the same name. Follow: that pod's EIP is undone first and this one
 * waits. TTL and Never keep the EIP for the next pod of the name (StatefulSets): this pod adopts it.
 */
export function decideForPreviousPodsRecord(
  observed: Observed,
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
  const finished = hasFinished(pod);
  if (!finished && strategy !== 'Follow' && sameKind && podEip.metadata.deletionTimestamp === undefined) {
    return done([{ type: 'adopt-podeip', podUid: pod.uid }], 0);
  }
  const release = decideAfterPod(observed, podEip);
  // A finished pod takes nothing over and waits for nothing: the record runs its course as the previous pod's.
  if (finished) return release;
  const waiting = progress(
    observed,
    REASONS.waitingForPreviousPod,
    'waiting for the EIP of the previous pod of this name to be released',
  );
  return release.kind === 'act' ? { ...release, actions: [...waiting, ...release.actions] } : release;
}

/**
 * The pod is gone (or no longer wants this binding): undo it. Follow releases what podeip allocated and
 * only unbinds what it was given; TTL waits for `releaseAfter` from podLastSeen; Never keeps everything.
 */
export function decideAfterPod(
  observed: Observed,
  podEip: PodEIP,
  options: { deleted?: boolean; finished?: boolean } = {},
): Decision {
  const type = podEip.spec.allocationType;
  const podStillWantsIt =
    !options.finished &&
    observed.pod !== undefined &&
    observed.pod.uid === podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION];
  const keep = !podStillWantsIt && !options.deleted;
  const expiresAt = type.releaseStrategy === 'TTL' ? ttlExpiry(podEip) : undefined;
  const kept =
    keep &&
    (type.releaseStrategy === 'Never' ||
      (type.releaseStrategy === 'TTL' && expiresAt !== undefined && observed.now < expiresAt));
  if (kept) {
    const unbinding = unbindKept(observed, podEip);
    if (unbinding !== undefined) return unbinding;
    if (expiresAt === undefined) return done();
    return done([], Math.min(expiresAt - observed.now, WAIT_MS.ttlCheckCap));
  }

  const allocationId = podEip.spec.allocationID;
  if (allocationId === '') {
    if (type.type !== 'Auto') return done([{ type: 'finish-podeip' }]);
    if (observed.taggedEips === undefined) return observe('tagged-eips');
    const found = observed.taggedEips[0];
    return done(
      [found ? { type: 'record-allocation', allocationId: found.allocationId } : { type: 'finish-podeip' }],
      0,
    );
  }
  if (observed.eip === undefined) return observe('eip');
  const eip = observed.eip;
  if (eip === null) return done([{ type: 'finish-podeip' }]);

  const podUid = podEip.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? '';
  switch (eip.status) {
    case 'InUse':
      // Only the binding podeip made is undone; another pod's (or anything else's) is never touched.
      if (isRecordedBinding(eip, podEip))
        return refusalToUndo(observed, podEip, eip) ?? done([unassociateRecorded(podEip)], WAIT_MS.transition);
      return done([
        {
          type: 'event',
          eventType: 'Warning',
          reason: REASONS.boundElsewhere,
          message: `the EIP ${allocationId} is bound to ${eip.instanceId} by someone else; podeip leaves it as it is`,
        },
        { type: 'finish-podeip' },
      ]);
    case 'Available': {
      if (type.type !== 'Auto') return done([{ type: 'finish-podeip' }]);
      const refused = refusalToUndo(observed, podEip, eip);
      if (refused !== undefined) return refused;
      // The API refuses to release a subscription (Forbidden.ChargeTypeIsPrepaid): asking again could never
      // succeed. Unbound, it is left to its term, and the record goes (or stays, under Never and TTL, above).
      if (eip.instanceChargeType === 'PrePaid')
        return done([
          {
            type: 'event',
            eventType: 'Warning',
            reason: REASONS.prepaidEipKept,
            message:
              `the EIP ${allocationId} (${eip.ipAddress}) is PrePaid: podeip cannot release it, so it stays allocated ` +
              'and billed until its subscription ends; release it in the console then, or bind it to a pod with ' +
              'pod-eip-instanceid',
            onPodEip: true,
          },
          { type: 'finish-podeip' },
        ]);
      if (eip.bandwidthPackageId !== '') {
        // The removal takes the cloud a moment, as a binding does; asking again at once would only conflict.
        return done(
          [{ type: 'remove-from-bandwidth-package', allocationId, bandwidthPackageId: eip.bandwidthPackageId, podUid }],
          WAIT_MS.transition,
        );
      }
      return done([{ type: 'release-eip', allocationId }], WAIT_MS.transition);
    }
    default:
      return done([], WAIT_MS.transition);
  }
}
