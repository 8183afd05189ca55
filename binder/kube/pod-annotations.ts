/**
 * The `k8s.aliyun.com/allocated-eipAddress` annotation the init container waits for. Written with a merge
 * PATCH (an update would race every other writer of the pod) that carries the pod's uid: the server
 * refuses a patch that would change an object's uid (422, "field is immutable"), so a pod recreated under
 * the same name is never given its predecessor's address.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import { MERGE_PATCH, isNotFound, isUidMismatch } from './api-clients.js';
import type { PodRef, PodWriteOptions, PodWriteResult } from './pod-condition.js';

/**
 * Sets the allocated address, or removes it when `address` is null or undefined; nothing is sent when the pod
 * (as `pod.eipAnnotations` shows it) already agrees.
 */
export async function setAllocatedEipAddress(api: CoreV1Api, pod: PodRef, address: string | null | undefined, options: Omit<PodWriteOptions, 'now'> = {}): Promise<PodWriteResult> {
  const current = pod.eipAnnotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION];
  if (current === (address ?? undefined)) return { wrote: false, podGone: false };
  const logger = (options.logger ?? pino({ enabled: false })).child({ namespace: pod.namespace, pod: pod.name, uid: pod.uid });
  // null deletes a key in a merge patch; removing an absent key is a no-op on the server.
  const body = { metadata: { uid: pod.uid, annotations: { [ALLOCATED_EIP_ADDRESS_ANNOTATION]: address ?? null } } };
  try {
    await api.patchNamespacedPod({ namespace: pod.namespace, name: pod.name, body }, MERGE_PATCH);
  } catch (error) {
    if (isNotFound(error) || isUidMismatch(error)) {
      logger.info({ eipAddress: address }, 'pod gone; annotation not needed');
      return { wrote: false, podGone: true };
    }
    throw error;
  }
  logger.info({ eipAddress: address ?? null, previous: current ?? null }, address == null ? 'removed allocated EIP address annotation' : 'set allocated EIP address annotation');
  return { wrote: true, podGone: false };
}
