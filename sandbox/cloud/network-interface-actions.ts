/**
 * ECS DescribeNetworkInterfaces: how the binder finds a pod IP's ENI. `PrivateIpAddress.N` matches
 * secondary IPs only (the primary one is `PrimaryIpAddress`), and each IP's `AssociatedPublicIp` mirrors
 * the EIP InUse on it.
 */
import type { ActionHandler } from './action-context.js';
import { CloudApiError, invalidParameter } from './errors.js';
import { decodePageToken, encodePageToken } from './page-tokens.js';
import type { CloudWorld, StoredEni } from './world.js';

const MIN_MAX_RESULTS = 10;
const MAX_MAX_RESULTS = 500;
const STATUSES = ['Available', 'Attaching', 'InUse', 'Detaching', 'Deleting', 'CreateFailed'];

function publicIpWire(world: CloudWorld, eni: StoredEni, ip: string): Record<string, string> {
  const eip = world.publicIpOf(eni, ip);
  // Not null and not absent: ECS answers an empty object when nothing is bound.
  return eip ? { AllocationId: eip.allocationId, PublicIpAddress: eip.ipAddress } : {};
}

function networkInterfaceToWire(eni: StoredEni, world: CloudWorld): Record<string, unknown> {
  return {
    NetworkInterfaceId: eni.networkInterfaceId,
    NetworkInterfaceName: '',
    Description: '',
    Type: eni.type,
    Status: eni.status,
    InstanceId: eni.instanceId,
    VpcId: eni.vpcId,
    VSwitchId: eni.vSwitchId,
    ZoneId: eni.zoneId,
    MacAddress: eni.macAddress,
    PrivateIpAddress: eni.primaryIpAddress,
    PrivateIpSets: {
      PrivateIpSet: eni.privateIpAddresses.map((ip) => ({
        PrivateIpAddress: ip,
        Primary: ip === eni.primaryIpAddress,
        AssociatedPublicIp: publicIpWire(world, eni, ip),
      })),
    },
    AssociatedPublicIp: publicIpWire(world, eni, eni.primaryIpAddress),
    SecurityGroupIds: { SecurityGroupId: [eni.securityGroupId] },
    Tags: { Tag: [] },
    Ipv6Sets: { Ipv6Set: [] },
    Ipv4PrefixSets: { Ipv4PrefixSet: [] },
    Ipv6PrefixSets: { Ipv6PrefixSet: [] },
    ...(eni.type === 'Secondary' && eni.instanceId !== ''
      ? {
          Attachment: {
            InstanceId: eni.instanceId,
            DeviceIndex: eni.deviceIndex,
            NetworkCardIndex: 0,
            TrunkNetworkInterfaceId: '',
          },
        }
      : {}),
    CreationTime: eni.creationTime,
    OwnerId: world.accountId,
    ResourceGroupId: world.defaultResourceGroupId,
    ServiceManaged: false,
    NetworkInterfaceTrafficMode: 'Standard',
  };
}

export const describeNetworkInterfaces: ActionHandler = ({ params, world }) => {
  const vpcId = params.optional('VpcId');
  const vSwitchId = params.optional('VSwitchId');
  const instanceId = params.optional('InstanceId');
  const ids = params.list('NetworkInterfaceId', 100);
  const primaryIp = params.optional('PrimaryIpAddress');
  const secondaryIps = params.list('PrivateIpAddress', 100);
  const ipv6 = params.list('Ipv6Address', 100);
  const type =
    params.optional('Type') === undefined ? undefined : params.oneOf('Type', ['Primary', 'Secondary'], 'Secondary');
  const status = params.optional('Status') === undefined ? undefined : params.oneOf('Status', STATUSES, 'Available');
  const securityGroupId = params.optional('SecurityGroupId');
  const name = params.optional('NetworkInterfaceName');
  const resourceGroupId = params.optional('ResourceGroupId');
  const tags = params.tags();
  params.boolean('ServiceManaged');

  const tokenMode = params.has('MaxResults') || params.has('NextToken');
  let offset = 0;
  let limit: number;
  let pageNumber = 1;
  if (tokenMode) {
    const requested = params.optional('MaxResults');
    if (requested !== undefined && !/^\d+$/.test(requested))
      throw invalidParameter('MaxResults', `${requested} is not an integer`);
    // Out-of-range values are clamped, not refused (documented behaviour).
    limit = Math.min(MAX_MAX_RESULTS, Math.max(MIN_MAX_RESULTS, Number(requested ?? MIN_MAX_RESULTS)));
    const token = params.optional('NextToken');
    if (token !== undefined) offset = decodePageToken('networkInterfaces', token, 'InvalidNextToken.Malformed');
  } else {
    pageNumber = params.integer('PageNumber', { min: 1, max: 1_000_000 }, 1);
    limit = params.integer('PageSize', { min: 1, max: 100 }, 10);
    offset = (pageNumber - 1) * limit;
  }

  const matches = [...world.enis.values()].filter(
    (eni) =>
      (vpcId === undefined || eni.vpcId === vpcId) &&
      (vSwitchId === undefined || eni.vSwitchId === vSwitchId) &&
      (instanceId === undefined || eni.instanceId === instanceId) &&
      (ids.length === 0 || ids.includes(eni.networkInterfaceId)) &&
      (primaryIp === undefined || eni.primaryIpAddress === primaryIp) &&
      (secondaryIps.length === 0 ||
        eni.privateIpAddresses.some((ip) => ip !== eni.primaryIpAddress && secondaryIps.includes(ip))) &&
      // No ENI here has IPv6 addresses, names or tags.
      ipv6.length === 0 &&
      name === undefined &&
      tags.length === 0 &&
      (type === undefined || eni.type === type) &&
      (status === undefined || eni.status === status) &&
      (securityGroupId === undefined || eni.securityGroupId === securityGroupId) &&
      (resourceGroupId === undefined || resourceGroupId === world.defaultResourceGroupId),
  );
  if (offset > matches.length && tokenMode)
    throw new CloudApiError('InvalidNextToken.Malformed', {
      message: 'The specified NextToken is not valid: it points past the end of the results.',
    });
  const page = matches.slice(offset, offset + limit);
  const more = offset + limit < matches.length;
  return {
    TotalCount: matches.length,
    ...(tokenMode ? {} : { PageNumber: pageNumber, PageSize: limit }),
    NextToken: tokenMode && more ? encodePageToken('networkInterfaces', offset + limit) : '',
    NetworkInterfaceSets: { NetworkInterfaceSet: page.map((eni) => networkInterfaceToWire(eni, world)) },
  };
};
