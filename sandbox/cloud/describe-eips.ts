/**
 * DescribeEipAddresses: filters, paging, and each EIP in the wire shape the SDK's model casts without
 * loss (every list an array inside its wrapper, Bandwidth a string, ServiceManaged a number).
 */
import type { ActionHandler } from './action-context.js';
import { CloudApiError, apiError } from './errors.js';
import { ISPS } from './eip-actions.js';
import { hasAllTags } from './tag-actions.js';
import type { CloudWorld, StoredEip } from './world.js';

const STATUSES = ['Associating', 'Unassociating', 'InUse', 'Available', 'Releasing'];
const ASSOCIATED_INSTANCE_TYPES = ['EcsInstance', 'SlbInstance', 'Nat', 'HaVip', 'NetworkInterface', 'IpAddress'];
const MAX_IDS_PER_FILTER = 50;

function eipToWire(eip: StoredEip, world: CloudWorld): Record<string, unknown> {
  const bandwidthPackage = eip.bandwidthPackageId === '' ? undefined : world.packages.get(eip.bandwidthPackageId);
  const bound = eip.instanceId !== '';
  const eni = eip.instanceType === 'NetworkInterface' ? world.enis.get(eip.instanceId) : undefined;
  // Terway observed that an EIP bound to an ENI's primary address reports no PrivateIpAddress.
  const onPrimaryAddress =
    eip.instanceType === 'EcsInstance' || (eni !== undefined && eni.primaryIpAddress === eip.privateIpAddress);
  return {
    AllocationId: eip.allocationId,
    IpAddress: eip.ipAddress,
    Status: eip.status,
    InstanceId: eip.instanceId,
    InstanceType: eip.instanceType,
    InstanceRegionId: bound ? eip.regionId : '',
    PrivateIpAddress: onPrimaryAddress ? '' : eip.privateIpAddress,
    Mode: eip.mode,
    VpcId: bound ? world.vpcId : '',
    Bandwidth: bandwidthPackage?.bandwidth ?? eip.bandwidth,
    EipBandwidth: eip.bandwidth,
    InternetChargeType: eip.internetChargeType,
    ChargeType: eip.instanceChargeType,
    ISP: eip.isp,
    Netmode: 'public',
    Name: eip.name,
    Description: eip.description,
    AllocationTime: eip.allocationTime,
    ExpiredTime: eip.expiredTime,
    RegionId: eip.regionId,
    ResourceGroupId: eip.resourceGroupId,
    PublicIpAddressPoolId: eip.publicIpAddressPoolId,
    BandwidthPackageId: eip.bandwidthPackageId,
    BandwidthPackageBandwidth: bandwidthPackage?.bandwidth ?? '',
    BandwidthPackageType: bandwidthPackage ? 'CommonBandwidthPackage' : '',
    BusinessStatus: 'Normal',
    OperationLocks: { LockReason: [] },
    Tags: { Tag: eip.tags.map((tag) => ({ Key: tag.key, Value: tag.value })) },
    SecurityProtectionTypes: { SecurityProtectionType: [...eip.securityProtectionTypes] },
    DeletionProtection: false,
    SecondLimited: false,
    ServiceManaged: 0,
    HDMonitorStatus: 'OFF',
    HasReservationData: 'false',
    SegmentInstanceId: '',
    Zone: '',
  };
}

/** `YYYY-MM-DDThh:mmZ`, the format of the CreationStartTime / CreationEndTime filters. */
function parseFilterTime(value: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?Z$/.exec(value);
  const parsed = match ? Date.parse(`${match[1]}${match[2] ?? ':00'}Z`) : Number.NaN;
  if (Number.isNaN(parsed))
    throw new CloudApiError('InvalidParameter', {
      message: `Specified value of "Filter.N.Value" is not valid: ${value} (expected YYYY-MM-DDThh:mmZ).`,
    });
  return parsed;
}

export const describeEipAddresses: ActionHandler = ({ params, world }) => {
  const allocationIds = params.commaList('AllocationId', MAX_IDS_PER_FILTER);
  const addresses = params.commaList('EipAddress', MAX_IDS_PER_FILTER);
  const status = params.optional('Status') === undefined ? undefined : params.oneOf('Status', STATUSES, 'Available');
  const associatedType =
    params.optional('AssociatedInstanceType') === undefined
      ? undefined
      : params.oneOf(
          'AssociatedInstanceType',
          ASSOCIATED_INSTANCE_TYPES,
          'EcsInstance',
          'InvalidIAssociatedInstanceType.ValueNotSupported',
        );
  const associatedId = params.optional('AssociatedInstanceId');
  const chargeType =
    params.optional('ChargeType') === undefined
      ? undefined
      : params.oneOf('ChargeType', ['PostPaid', 'PrePaid'], 'PostPaid', 'InvalidChargeType.ValueNotSupported');
  const isp = params.optional('ISP') === undefined ? undefined : params.oneOf('ISP', ISPS, 'BGP');
  const lockReason = params.optional('LockReason');
  if (lockReason !== undefined && lockReason !== 'financial' && lockReason !== 'security') {
    throw apiError(
      'InvalidLockReason.NotFound',
      `Specified value of LockReason is not found: ${lockReason} (financial or security).`,
    );
  }
  const name = params.optional('EipName');
  const resourceGroupId = params.optional('ResourceGroupId');
  const poolId = params.optional('PublicIpAddressPoolId');
  const segmentId = params.optional('SegmentInstanceId');
  const tags = params.tags();
  if (tags.length > 20)
    throw apiError(
      'SizeLimitExceeded.TagNum',
      `The maximum number of tags is exceeded: ${tags.length} given, at most 20.`,
    );
  let createdFrom = Number.NEGATIVE_INFINITY;
  let createdTo = Number.POSITIVE_INFINITY;
  for (const filter of params.tags('Filter')) {
    if (filter.key === 'CreationStartTime') createdFrom = parseFilterTime(filter.value ?? '');
    else if (filter.key === 'CreationEndTime') createdTo = parseFilterTime(filter.value ?? '');
    else
      throw new CloudApiError('InvalidParameter', {
        message: `Specified value of "Filter.N.Key" is not valid: ${filter.key} (CreationStartTime or CreationEndTime).`,
      });
  }
  const pageNumber = params.integer('PageNumber', { min: 1, max: 1_000_000 }, 1);
  const pageSize = params.integer('PageSize', { min: 1, max: 100 }, 10);
  for (const accepted of ['DryRun', 'IncludeReservationData', 'SecurityProtectionEnabled', 'ServiceManaged'])
    params.boolean(accepted);
  if (params.boolean('DryRun')) throw new CloudApiError('DryRunOperation');

  const matches = [...world.eips.values()]
    .filter(
      (eip) =>
        (allocationIds === undefined || allocationIds.includes(eip.allocationId)) &&
        (addresses === undefined || addresses.includes(eip.ipAddress)) &&
        (status === undefined || eip.status === status) &&
        (associatedType === undefined || eip.instanceType === associatedType) &&
        (associatedId === undefined || eip.instanceId === associatedId) &&
        (chargeType === undefined || eip.instanceChargeType === chargeType) &&
        (isp === undefined || eip.isp === isp) &&
        // Nothing in the sandbox is ever locked or part of an address segment.
        lockReason === undefined &&
        segmentId === undefined &&
        (name === undefined || eip.name === name) &&
        (resourceGroupId === undefined || eip.resourceGroupId === resourceGroupId) &&
        (poolId === undefined || eip.publicIpAddressPoolId === poolId) &&
        eip.createdAtMs >= createdFrom &&
        eip.createdAtMs <= createdTo &&
        hasAllTags(eip, tags),
    )
    // Newest first, as the console lists them.
    .sort((a, b) => b.sequence - a.sequence);
  const page = matches.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    TotalCount: matches.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    EipAddresses: { EipAddress: page.map((eip) => eipToWire(eip, world)) },
  };
};
