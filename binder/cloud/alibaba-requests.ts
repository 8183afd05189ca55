/**
 * The port's plain data to and from the SDK's request and response models: every AllocateEipAddress
 * option, the DescribeEipAddresses filters, and the readings of EIPs and ENIs. Pure; the adapter sends.
 * RegionId goes on every request model, because the SDK's Config.regionId only picks the endpoint and the
 * API refuses a call without it (docs/alibaba-cloud-api.md#regionid-on-every-request).
 */
import { isRecord } from '../../api/is-record.js';
import * as $Vpc from './vpc-api.js';
import type { AutoEipRequest } from '../../api/eip-request.js';
import type { AllocateEipOptions, EipState, EipStatus, NetworkInterfaceMatch } from './eip-cloud.js';

export const EIP_PAGE_SIZE = 100;
export const ENI_PAGE_SIZE = 100;

export function allocateEipRequest(
  regionId: string,
  request: AutoEipRequest,
  options: AllocateEipOptions,
): $Vpc.AllocateEipAddressRequest {
  // Ownership tags last: on a shared key they win, so the orphan sweep can trust them.
  const tags = { ...(request.tags ?? {}), ...options.ownershipTags };
  const prepaid = request.instanceChargeType === 'PrePaid';
  return new $Vpc.AllocateEipAddressRequest({
    regionId,
    clientToken: options.clientToken,
    bandwidth: String(request.bandwidth),
    internetChargeType: request.internetChargeType,
    instanceChargeType: request.instanceChargeType,
    // Without AutoPay a PrePaid order waits for a person to pay it in the console, and the pod with it.
    ...(prepaid ? { autoPay: true } : {}),
    ...(request.isp !== undefined ? { ISP: request.isp } : {}),
    ...(request.publicIpAddressPoolId !== undefined ? { publicIpAddressPoolId: request.publicIpAddressPoolId } : {}),
    ...(request.resourceGroupId !== undefined ? { resourceGroupId: request.resourceGroupId } : {}),
    ...(request.name !== undefined ? { name: request.name } : {}),
    ...(request.description !== undefined ? { description: request.description } : {}),
    ...(request.securityProtectionTypes !== undefined && request.securityProtectionTypes.length > 0
      ? { securityProtectionTypes: [...request.securityProtectionTypes] }
      : {}),
    tag: Object.entries(tags).map(([key, value]) => new $Vpc.AllocateEipAddressRequestTag({ key, value })),
  });
}

export interface EipFilter {
  allocationIds?: string[];
  tags?: Record<string, string>;
  associatedNetworkInterfaceId?: string;
}

export function describeEipsRequest(
  regionId: string,
  filter: EipFilter,
  pageNumber: number,
): $Vpc.DescribeEipAddressesRequest {
  return new $Vpc.DescribeEipAddressesRequest({
    regionId,
    pageNumber,
    pageSize: EIP_PAGE_SIZE,
    ...(filter.allocationIds !== undefined ? { allocationId: filter.allocationIds.join(',') } : {}),
    ...(filter.associatedNetworkInterfaceId !== undefined
      ? { associatedInstanceType: 'NetworkInterface', associatedInstanceId: filter.associatedNetworkInterfaceId }
      : {}),
    ...(filter.tags !== undefined && Object.keys(filter.tags).length > 0
      ? {
          tag: Object.entries(filter.tags).map(
            ([key, value]) => new $Vpc.DescribeEipAddressesRequestTag({ key, value }),
          ),
        }
      : {}),
  });
}

/** The fields of one DescribeEipAddresses item that the binder reads. */
export interface SdkEip {
  allocationId?: string;
  ipAddress?: string;
  status?: string;
  instanceId?: string;
  instanceType?: string;
  privateIpAddress?: string;
  bandwidthPackageId?: string;
  ISP?: string;
  internetChargeType?: string;
  chargeType?: string;
  resourceGroupId?: string;
  publicIpAddressPoolId?: string;
  name?: string;
  bandwidth?: string;
  eipBandwidth?: string;
  tags?: { tag?: Array<{ key?: string; value?: string }> };
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set([
  'Available',
  'Associating',
  'InUse',
  'Unassociating',
  'Releasing',
]);

export function eipStateOf(item: SdkEip): EipState {
  const tags: Record<string, string> = {};
  for (const tag of item.tags?.tag ?? []) if (tag.key !== undefined) tags[tag.key] = tag.value ?? '';
  // In a bandwidth package `Bandwidth` is the package's; `EipBandwidth` is always the EIP's own.
  const bandwidth = item.eipBandwidth !== undefined && item.eipBandwidth !== '' ? item.eipBandwidth : item.bandwidth;
  return {
    allocationId: item.allocationId ?? '',
    ipAddress: item.ipAddress ?? '',
    status: item.status !== undefined && KNOWN_STATUSES.has(item.status) ? (item.status as EipStatus) : 'Unknown',
    instanceId: item.instanceId ?? '',
    instanceType: item.instanceType ?? '',
    privateIpAddress: item.privateIpAddress ?? '',
    bandwidthPackageId: item.bandwidthPackageId ?? '',
    isp: item.ISP ?? '',
    internetChargeType: item.internetChargeType ?? '',
    instanceChargeType: item.chargeType ?? '',
    resourceGroupId: item.resourceGroupId ?? '',
    publicIpAddressPoolId: item.publicIpAddressPoolId ?? '',
    name: item.name ?? '',
    bandwidth: bandwidth === undefined || bandwidth === '' ? Number.NaN : Number(bandwidth),
    tags,
  };
}

/**
 * The two ways an ENI can hold a pod IP: as a secondary IP (Terway shared mode) or as its primary IP (exclusive mode).
 */
export type EniIpFilter = { secondaryIps: readonly string[] } | { primaryIp: string };

/** Secondary IPs one DescribeNetworkInterfaces may ask for (`PrivateIpAddress.N`, N up to 100). */
export const MAX_IPS_PER_ENI_DESCRIBE = 100;

/**
 * The query of one DescribeNetworkInterfaces page, in the API's own parameter names. The binder calls
 * this one ECS action through openapi-core directly: loading the whole ECS SDK for it costs ~70 MB.
 */
export function describeNetworkInterfacesQuery(
  regionId: string,
  vpcId: string,
  filter: EniIpFilter,
  nextToken: string | undefined,
): Record<string, string> {
  return {
    RegionId: regionId,
    VpcId: vpcId,
    MaxResults: String(ENI_PAGE_SIZE),
    ...('secondaryIps' in filter
      ? Object.fromEntries(filter.secondaryIps.map((ip, index) => [`PrivateIpAddress.${index + 1}`, ip]))
      : { PrimaryIpAddress: filter.primaryIp }),
    ...(nextToken !== undefined && nextToken !== '' ? { NextToken: nextToken } : {}),
  };
}

type RawObject = Record<string, unknown>;
const asObject = (value: unknown): RawObject => (isRecord(value) ? value : {});
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** One answer page, read from the raw JSON (the API's names) into the fields the binder reads. */
export function networkInterfacesPageOf(body: unknown): {
  interfaces: SdkNetworkInterface[];
  nextToken: string | undefined;
} {
  const page = asObject(body);
  const interfaces = asList(asObject(page.NetworkInterfaceSets).NetworkInterfaceSet).map((raw): SdkNetworkInterface => {
    const eni = asObject(raw);
    return {
      networkInterfaceId: asString(eni.NetworkInterfaceId),
      type: asString(eni.Type),
      instanceId: asString(eni.InstanceId),
      privateIpAddress: asString(eni.PrivateIpAddress),
      privateIpSets: {
        privateIpSet: asList(asObject(eni.PrivateIpSets).PrivateIpSet).map((set) => ({
          privateIpAddress: asString(asObject(set).PrivateIpAddress),
          primary: asObject(set).Primary === true || asObject(set).Primary === 'true',
        })),
      },
      attachment: { instanceId: asString(asObject(eni.Attachment).InstanceId) },
    };
  });
  return { interfaces, nextToken: asString(page.NextToken) };
}

/** The fields of one DescribeNetworkInterfaces item that the binder reads. */
export interface SdkNetworkInterface {
  networkInterfaceId?: string;
  type?: string;
  instanceId?: string;
  privateIpAddress?: string;
  privateIpSets?: { privateIpSet?: Array<{ privateIpAddress?: string; primary?: boolean }> };
  attachment?: { instanceId?: string };
}

/**
 * The match when this ENI really holds `privateIp`: a filter the API ignored or widened must not bind a
 * pod's EIP to someone else's ENI, so the answer is checked, not trusted.
 */
export function networkInterfaceMatchOf(
  eni: SdkNetworkInterface,
  privateIp: string,
): NetworkInterfaceMatch | undefined {
  if (eni.networkInterfaceId === undefined || eni.networkInterfaceId === '') return undefined;
  const entry = (eni.privateIpSets?.privateIpSet ?? []).find((set) => set.privateIpAddress === privateIp);
  const isPrimaryIp =
    entry !== undefined
      ? entry.primary === true || eni.privateIpAddress === privateIp
      : eni.privateIpAddress === privateIp;
  if (entry === undefined && !isPrimaryIp) return undefined;
  return {
    networkInterfaceId: eni.networkInterfaceId,
    type: eni.type === 'Primary' ? 'Primary' : 'Secondary',
    instanceId:
      eni.instanceId !== undefined && eni.instanceId !== '' ? eni.instanceId : (eni.attachment?.instanceId ?? ''),
    isPrimaryIp,
    privateIp,
  };
}

export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
