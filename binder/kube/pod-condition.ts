/**
 * The `k8s.aliyun.com/eip` pod condition, written as aws-load-balancer-controller writes its readiness
 * gate: a strategic-merge PATCH of pods/status that carries only this condition (so the kubelet's Ready
 * and ContainersReady are merged by type, never clobbered) and the pod's uid (so a pod recreated under the
 * same name never receives a verdict about its predecessor). Nothing is sent when nothing would change.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE } from '../../api/constants.js';
import { STRATEGIC_MERGE_PATCH, isNotFound, isUidMismatch } from '../../api/kube/api-clients.js';
import { toKubeTime, type EipPodCondition, type PodProjection } from './pod-projection.js';

/** Condition messages are for people; a cloud error dump is cut here, as the Event message is. */
export const MAX_CONDITION_MESSAGE_LENGTH = 1024;

export interface DesiredEipCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** What a pod write did: `wrote` is false both when nothing changed and when the pod is gone. */
export interface PodWriteResult {
  wrote: boolean;
  /** The pod no longer exists, or its name now belongs to a different pod (uid mismatch): done. */
  podGone: boolean;
}

export interface PodWriteOptions {
  /** For tests: the transition time of a status flip. */
  now?: () => Date;
}

/** The pod as much as a write needs: the projection, or anything with the same identity and condition. */
export type PodRef = Pick<PodProjection, 'namespace' | 'name' | 'uid'> &
  Partial<Pick<PodProjection, 'eipCondition' | 'eipAnnotations'>>;

export function capMessage(message: string, max = MAX_CONDITION_MESSAGE_LENGTH): string {
  if (Buffer.byteLength(message, 'utf8') <= max) return message;
  // Cut on a character boundary, leaving room for the ellipsis (3 bytes in UTF-8).
  let cut = Buffer.from(message, 'utf8')
    .subarray(0, max - 3)
    .toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * The condition to send, or undefined when the pod already carries it. Pure: the transition time stays
 * unless the status flips, as every Kubernetes controller keeps it.
 */
export function plannedEipCondition(
  current: EipPodCondition | undefined,
  desired: DesiredEipCondition,
  now: Date,
): EipPodCondition | undefined {
  const message = capMessage(desired.message);
  if (
    current !== undefined &&
    current.status === desired.status &&
    (current.reason ?? '') === desired.reason &&
    (current.message ?? '') === message
  )
    return undefined;
  const keepTime =
    current !== undefined && current.status === desired.status && current.lastTransitionTime !== undefined;
  return {
    status: desired.status,
    reason: desired.reason,
    message,
    lastTransitionTime: keepTime ? current.lastTransitionTime : toKubeTime(now),
  };
}

/**
 * Sets the pod's EIP condition unless it already reads so. The comparison is against `pod.eipCondition`
 * (the cache), so a stale cache costs at most one redundant, idempotent write.
 */
export async function setEipCondition(
  api: CoreV1Api,
  pod: PodRef,
  desired: DesiredEipCondition,
  options: PodWriteOptions = {},
): Promise<PodWriteResult> {
  const condition = plannedEipCondition(pod.eipCondition, desired, (options.now ?? (() => new Date()))());
  if (condition === undefined) return { wrote: false, podGone: false };
  const body = {
    metadata: { uid: pod.uid },
    status: { conditions: [{ type: EIP_CONDITION_TYPE, ...condition, lastProbeTime: null }] },
  };
  return writeUnlessGone(() =>
    api.patchNamespacedPodStatus({ namespace: pod.namespace, name: pod.name, body }, STRATEGIC_MERGE_PATCH),
  );
}

/**
 * Sends one write to a pod. A pod that is gone, or whose name now belongs to another pod (the uid in the
 * body no longer matches), needs nothing more: that is a result, not an error. The caller logs the outcome.
 */
export async function writeUnlessGone(send: () => Promise<unknown>): Promise<PodWriteResult> {
  try {
    await send();
  } catch (error) {
    if (isNotFound(error) || isUidMismatch(error)) return { wrote: false, podGone: true };
    throw error;
  }
  return { wrote: true, podGone: false };
}
