/**
 * Internet Shared Bandwidth (`cbwp-…`): AddCommonBandwidthPackageIp, RemoveCommonBandwidthPackageIp and
 * DescribeCommonBandwidthPackages. Both writes are asynchronous (BINDING → BINDED, UNBINDING → gone);
 * the EIP names its package in DescribeEipAddresses from the moment it is added until removal completes.
 */
import type { ActionHandler } from './action-context.js';
import { CloudApiError, apiError, invalidParameter } from './errors.js';
import { isTransitional } from './eip-actions.js';
import type { CloudWorld, StoredPackage } from './world.js';

function findPackage(world: CloudWorld, bandwidthPackageId: string): StoredPackage {
  const found = world.packages.get(bandwidthPackageId);
  if (!found)
    throw apiError(
      'InvalidBandwidthPackageId.NotFound',
      `The specified bandwidthPackageId does not exist in our records: ${bandwidthPackageId}`,
    );
  return found;
}

export const addCommonBandwidthPackageIp: ActionHandler = ({ params, world, lifecycle }) => {
  const bandwidthPackage = findPackage(world, params.required('BandwidthPackageId'));
  const eip = world.findEip(params.required('IpInstanceId'));
  params.oneOf('IpType', ['EIP'], 'EIP');
  if (params.boolean('DryRun')) throw new CloudApiError('DryRunOperation');
  if (eip.instanceChargeType === 'PrePaid')
    throw apiError(
      'OperationUnsupported.PrepaidEip',
      `Only pay-as-you-go EIPs can be added to a bandwidth package; ${eip.allocationId} is PrePaid.`,
    );
  if (eip.bandwidthPackageId !== '') {
    throw apiError(
      'OperationUnsupported.IpAlreadyInCbwp',
      `${eip.allocationId} is already in ${eip.bandwidthPackageId}.`,
    );
  }
  if (isTransitional(eip))
    throw apiError(
      'TaskConflict',
      `The eip operate too frequent, please try again later: ${eip.allocationId} is ${eip.status}.`,
    );
  if (eip.isp !== bandwidthPackage.isp)
    throw invalidParameter(
      'IpInstanceId',
      `${eip.allocationId} is on line ${eip.isp}, the package on ${bandwidthPackage.isp}`,
    );
  lifecycle.addToPackage(bandwidthPackage, eip);
  return {};
};

export const removeCommonBandwidthPackageIp: ActionHandler = ({ params, world, lifecycle }) => {
  const bandwidthPackage = findPackage(world, params.required('BandwidthPackageId'));
  const eip = world.findEip(params.required('IpInstanceId'));
  if (params.boolean('DryRun')) throw new CloudApiError('DryRunOperation');
  const member = bandwidthPackage.ips.find((ip) => ip.allocationId === eip.allocationId);
  // Terway and Terraform treat this code as "already removed".
  if (!member)
    throw apiError(
      'OperationUnsupported.IpNotInCbwp',
      `The specified eip not exist in the commonBandwidthPackage: ${eip.allocationId} is not in ${bandwidthPackage.bandwidthPackageId}.`,
    );
  if (member.status !== 'BINDED') {
    throw apiError(
      'BandwidthPackageOperation.conflict',
      `${eip.allocationId} is ${member.status} in ${bandwidthPackage.bandwidthPackageId}; try again when that has finished.`,
    );
  }
  if (isTransitional(eip))
    throw apiError(
      'TaskConflict',
      `The eip operate too frequent, please try again later: ${eip.allocationId} is ${eip.status}.`,
    );
  lifecycle.removeFromPackage(bandwidthPackage, eip);
  return {};
};

export const describeCommonBandwidthPackages: ActionHandler = ({ params, world }) => {
  const id = params.optional('BandwidthPackageId');
  const name = params.optional('Name');
  const resourceGroupId = params.optional('ResourceGroupId');
  const tags = params.tags();
  const pageNumber = params.integer('PageNumber', { min: 1, max: 1_000_000 }, 1);
  const pageSize = params.integer('PageSize', { min: 1, max: 50 }, 10);
  for (const accepted of ['IncludeReservationData', 'SecurityProtectionEnabled']) params.boolean(accepted);
  if (params.boolean('DryRun')) throw new CloudApiError('DryRunOperation');
  // Packages carry no tags here, so any tag filter matches none.
  const matches = [...world.packages.values()].filter(
    (item) =>
      (id === undefined || item.bandwidthPackageId === id) &&
      (name === undefined || item.name === name) &&
      (resourceGroupId === undefined || item.resourceGroupId === resourceGroupId) &&
      tags.length === 0,
  );
  const page = matches.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    TotalCount: matches.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    CommonBandwidthPackages: {
      CommonBandwidthPackage: page.map((item) => ({
        BandwidthPackageId: item.bandwidthPackageId,
        Name: item.name,
        Description: '',
        Bandwidth: item.bandwidth,
        ISP: item.isp,
        InternetChargeType: item.internetChargeType,
        InstanceChargeType: 'PostPaid',
        Status: 'Available',
        BusinessStatus: 'Normal',
        CreationTime: item.creationTime,
        ExpiredTime: '',
        RegionId: world.regionId,
        ResourceGroupId: item.resourceGroupId,
        Ratio: 100,
        DeletionProtection: false,
        ServiceManaged: 0,
        HasReservationData: 'false',
        Zone: '',
        PublicIpAddresses: {
          PublicIpAddresse: item.ips.map((ip) => ({
            AllocationId: ip.allocationId,
            IpAddress: ip.ipAddress,
            BandwidthPackageIpRelationStatus: ip.status,
          })),
        },
        SecurityProtectionTypes: { SecurityProtectionType: [] },
        Tags: { Tag: [] },
      })),
    },
  };
};
