/**
 * What a PodEIP's status says, in ACK's field names, and the arithmetic on it: the status of a binding, when
 * two statuses differ enough to write, when a TTL record's EIP may go, and the merge patch that replaces
 * podeip's fields while keeping the ones only ACK or Terway write.
 */
import { parseGoDuration } from '../../api/duration.js';
import type { PodEIP, PodEIPStatus } from '../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';

/** Fields in Terway's copy of the CRD that podeip never writes: a record ACK made keeps them. */
const FIELDS_PODEIP_LEAVES: ReadonlySet<string> = new Set(['bandwidth', 'period']);

export function podEipStatusFor(eip: EipState, eni: NetworkInterfaceMatch, podLastSeen: string): PodEIPStatus {
  const status: PodEIPStatus = {
    eipAddress: eip.ipAddress,
    networkInterfaceID: eni.networkInterfaceId,
    privateIPAddress: eni.privateIp,
    status: eip.status,
    podLastSeen,
  };
  const optional: Array<[keyof PodEIPStatus, string]> = [
    ['isp', eip.isp],
    ['internetChargeType', eip.internetChargeType],
    ['resourceGroupID', eip.resourceGroupId],
    ['publicIpAddressPoolID', eip.publicIpAddressPoolId],
    ['name', eip.name],
    ['bandwidthPackageID', eip.bandwidthPackageId],
  ];
  for (const [key, value] of optional) if (value !== '') (status as Record<string, unknown>)[key] = value;
  return status;
}

/** Equal in what podeip writes, but for podLastSeen, which alone is not worth a write on every pass. */
export function sameStatus(a: PodEIPStatus | undefined, b: PodEIPStatus): boolean {
  if (!a) return false;
  const keys = new Set(
    [...Object.keys(a), ...Object.keys(b)].filter((k) => k !== 'podLastSeen' && !FIELDS_PODEIP_LEAVES.has(k)),
  );
  for (const k of keys) if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k]) return false;
  return true;
}

/**
 * The merge patch that makes the status `wanted`: podeip's fields missing from it are removed (null), the
 * ones only ACK or Terway write are left alone. Undefined when nothing would change.
 */
export function statusPatchFor(
  current: PodEIPStatus | undefined,
  wanted: PodEIPStatus,
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const now = (current ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(wanted)) if (value !== undefined && now[key] !== value) patch[key] = value;
  for (const key of Object.keys(now)) {
    if (!(key in wanted) && !FIELDS_PODEIP_LEAVES.has(key) && now[key] !== undefined && now[key] !== null)
      patch[key] = null;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** When a TTL PodEIP's EIP may go: podLastSeen + releaseAfter. Undefined when either is unreadable. */
export function ttlExpiry(podEip: PodEIP): number | undefined {
  const lastSeen = Date.parse(podEip.status?.podLastSeen ?? podEip.metadata.creationTimestamp ?? '');
  const after = parseGoDuration(podEip.spec.allocationType.releaseAfter ?? '');
  return Number.isNaN(lastSeen) || after === undefined ? undefined : lastSeen + after * 1000;
}
