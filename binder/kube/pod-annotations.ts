/**
 * The `k8s.aliyun.com/allocated-eipAddress` annotation the init container waits for. Written with a merge
 * PATCH (an update would race every other writer of the pod) that carries the pod's uid: the server
 * refuses a patch that would change an object's uid (422, "field is immutable"), so a pod recreated under
 * the same name is never given its predecessor's address.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import { MERGE_PATCH } from '../../api/kube/api-clients.js';
import { writeUnlessGone, type PodRef, type PodWriteResult } from './pod-condition.js';

/**
 * Sets the allocated address, or removes it when `address` is null or undefined; nothing is sent when the pod
 * (as `pod.eipAnnotations` shows it) already agrees.
 */
export async function setAllocatedEipAddress(
  api: CoreV1Api,
  pod: PodRef,
  address: string | null | undefined,
): Promise<PodWriteResult> {
  const current = pod.eipAnnotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION];
  if (current === (address ?? undefined)) return { wrote: false, podGone: false };
  // null deletes a key in a merge patch; removing an absent key is a no-op on the server.
  const body = { metadata: { uid: pod.uid, annotations: { [ALLOCATED_EIP_ADDRESS_ANNOTATION]: address ?? null } } };
  return writeUnlessGone(() => api.patchNamespacedPod({ namespace: pod.namespace, name: pod.name, body }, MERGE_PATCH));
}
