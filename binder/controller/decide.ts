/**
 * The binder's decisions, as a pure function of what it observed. `decideBinding` looks at one pod key
 * (namespace/name) and returns the next step: observe something more, or act and come back. The
 * reconciler (reconcile.ts) fetches observations lazily and performs at most one cloud write per pass, so
 * every pass is short, idempotent and safe to repeat after a crash.
 */
import { describeProblem } from '../../api/eip-request.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import { podEipSpecFor } from '../../api/podeip.js';
import { effectiveReleaseStrategy } from '../../api/release-strategy.js';
import { allocatedEipAddress, hasFinished, type PodProjection } from '../kube/pod-projection.js';
import { decideBound } from './decide-bound.js';
import { decideAfterPod, decideFinished, decideForPreviousPodsRecord, decideTerminating } from './decide-release.js';
import {
  PODEIP_POD_UID_ANNOTATION,
  REASONS,
  done,
  failure,
  observe,
  WAIT_MS,
  type Action,
  type Decision,
  type Observed,
  writtenByPodeip,
} from './decision.js';

export function decideBinding(observed: Observed): Decision {
  const { pod, podEip } = observed;
  const ownerUid = podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION];
  if (podEip !== undefined && !writtenByPodeip(podEip)) {
    // ACK's or Terway's EIP controller keeps this record and its EIP: podeip binds, unbinds and releases nothing.
    const message =
      `the PodEIP ${observed.namespace}/${observed.name} was not written by podeip (ACK's or Terway's EIP ` +
      'controller keeps it): podeip leaves this EIP to that controller';
    return pod === undefined
      ? done()
      : done([{ type: 'event', eventType: 'Warning', reason: REASONS.podEipOwnedElsewhere, message }]);
  }
  // Someone deleted the PodEIP (ACK's way to release a Never EIP by hand): undo it whatever the strategy.
  if (podEip?.metadata.deletionTimestamp !== undefined) return decideAfterPod(observed, podEip, { deleted: true });
  if (!pod) return podEip ? decideAfterPod(observed, podEip) : done();

  const parsed = parseEipAnnotations(pod.eipAnnotations);
  if (podEip && ownerUid !== undefined && ownerUid !== pod.uid)
    return decideForPreviousPodsRecord(observed, pod, podEip, parsed);
  if (parsed.kind === 'none') return podEip ? decideAfterPod(observed, podEip) : decideNothingAsked(pod);
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
  if (pod.deletionTimestamp !== undefined) return decideTerminating(observed, podEip);
  if (hasFinished(pod)) return decideFinished(observed, pod, podEip);
  if (!pod.podIP) return done();

  const applies = effectiveReleaseStrategy(
    parsed.request.releaseStrategy,
    pod.controller?.kind,
    observed.statefulKinds,
  );
  const request = { ...parsed.request, releaseStrategy: applies.strategy };
  if (!podEip) {
    // EIPPolicies are checked before anything is recorded or allocated; a binding made earlier is kept.
    if (observed.policy === undefined) return observe('policy');
    if (!observed.policy.allowed) return failure(REASONS.policyDenied, observed.policy.message, WAIT_MS.misconfigured);
    const allocationId = request.mode === 'static' ? request.allocationId : '';
    // The PodEIP records the intent before any cloud call, so a crash after Allocate cannot lose the EIP.
    const actions: Action[] = [{ type: 'create-podeip', spec: podEipSpecFor(request, allocationId), podUid: pod.uid }];
    if (applies.fallback !== undefined)
      actions.push({
        type: 'event',
        eventType: 'Warning',
        reason: REASONS.releaseStrategyFallback,
        message: applies.fallback,
        onController: true,
      });
    return done(actions, 0);
  }
  return decideBound({ observed, pod, podEip, request });
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
