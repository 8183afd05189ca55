/**
 * The EIPs podeip allocated, found by the ownership tags it gives each one (client-tokens.ts): listing a
 * cluster's, reading whose they were, and undoing a binding as the cloud reports it. The garbage collection
 * and `podeip drain` work from these alone, since no PodEIP record vouches for what they handle.
 */
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../api/constants.js';
import { clientTokenFor } from './client-tokens.js';
import type { EipCloud, EipState } from './eip-cloud.js';

/** Every EIP with this cluster's ownership tags. */
export function describeClusterEips(cloud: EipCloud, clusterId: string): Promise<EipState[]> {
  return cloud.describeEips({ tags: { [PODEIP_OWNERSHIP_TAG_KEYS.clusterId]: clusterId } });
}

/** The pod an EIP was allocated for, as its tags say. */
export function taggedOwner(eip: EipState): {
  namespace: string | undefined;
  podName: string | undefined;
  podUid: string | undefined;
} {
  const tags = eip.tags;
  return {
    namespace: tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace],
    podName: tags[PODEIP_OWNERSHIP_TAG_KEYS.podName],
    podUid: tags[PODEIP_OWNERSHIP_TAG_KEYS.podUid],
  };
}

/** Whether the EIP was allocated in one of `namespaces`; an empty list means all. */
export function inNamespaces(eip: EipState, namespaces: readonly string[]): boolean {
  return namespaces.length === 0 || namespaces.includes(eip.tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace] ?? '');
}

/**
 * Unbinds the EIP from the ENI and IP the cloud reports it bound to. `purpose` (gc, drain) goes into the
 * ClientToken, so these calls never replay a reconcile's own unassociation of the same binding.
 */
export async function unassociateAsFound(cloud: EipCloud, eip: EipState, purpose: string): Promise<void> {
  await cloud.unassociateEip({
    allocationId: eip.allocationId,
    networkInterfaceId: eip.instanceId,
    ...(eip.privateIpAddress === '' ? {} : { privateIp: eip.privateIpAddress }),
    clientToken: clientTokenFor({
      operation: 'unassociate',
      podUid: taggedOwner(eip).podUid || eip.allocationId,
      allocationId: eip.allocationId,
      target: [purpose, eip.instanceId, eip.privateIpAddress],
    }),
  });
}
