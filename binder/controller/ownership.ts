/**
 * What makes an auto EIP podeip's to release or unbind, decided from the cloud's answer and never from a
 * field a tenant could write: it carries the ownership tags podeip gave it when it allocated it for this
 * record (this cluster, the record's namespace and pod name). The pod-uid tag names the pod it was first
 * allocated for; under Never and TTL a later pod of the same name adopts the record, so it is not compared.
 */
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../api/constants.js';
import type { PodEIP } from '../../api/podeip.js';
import { tagValueFor } from '../cloud/client-tokens.js';
import type { EipState } from '../cloud/eip-cloud.js';

export function allocatedForRecord(eip: EipState, podEip: PodEIP, clusterId: string): boolean {
  const { namespace, name } = podEip.metadata;
  if (clusterId === '' || namespace === undefined || name === undefined) return false;
  return (
    eip.tags[PODEIP_OWNERSHIP_TAG_KEYS.clusterId] === clusterId &&
    eip.tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace] === tagValueFor(namespace) &&
    eip.tags[PODEIP_OWNERSHIP_TAG_KEYS.podName] === tagValueFor(name)
  );
}
