/**
 * The VPC EIP write operations: Allocate, Associate, Unassociate, Release, ModifyEipAddressAttribute,
 * with the preconditions of docs/alibaba-cloud-api.md#the-eip-state-machine and the error codes of
 * docs/alibaba-cloud-api.md#error-codes.
 */
import type { ActionHandler } from './action-context.js';
import type { EipBinding } from './eip-lifecycle.js';
import { CloudApiError, apiError, invalidParameter, missingParameter } from './errors.js';
import type { RequestParams } from './params.js';
import { checkedTags } from './tag-actions.js';
import type { StoredEip } from './world.js';

export const ISPS = [
  'BGP',
  'BGP_PRO',
  'ChinaTelecom',
  'ChinaUnicom',
  'ChinaMobile',
  'ChinaTelecom_L2',
  'ChinaUnicom_L2',
  'ChinaMobile_L2',
  'BGP_FinanceCloud',
  'BGP_International',
];
const INSTANCE_TYPES = ['EcsInstance', 'SlbInstance', 'Nat', 'HaVip', 'NetworkInterface', 'IpAddress'];
/** EIPs one ENI can carry in MULTI_BINDED mode. */
const MULTI_BINDED_LIMIT = 10;
const TRANSITIONAL = new Set(['Associating', 'Unassociating', 'Releasing']);

/** Mbit/s bounds by billing: PostPaid PayByBandwidth 1–500, PostPaid PayByTraffic 1–200, PrePaid 1–1000. */
function checkedBandwidth(value: string, instanceChargeType: string, internetChargeType: string): string {
  const max = instanceChargeType === 'PrePaid' ? 1000 : internetChargeType === 'PayByTraffic' ? 200 : 500;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new CloudApiError('InvalidParameter', {
      message: `Specified value of "Bandwidth" is not valid: ${value} (${instanceChargeType} ${internetChargeType} takes 1–${max}).`,
    });
  }
  return String(Number(value));
}

function checkedText(params: RequestParams, name: string, maxLength: number): string | undefined {
  const value = params.optional(name);
  if (value === undefined) return undefined;
  if (value.length > maxLength) throw invalidParameter(name, `longer than ${maxLength} characters`);
  if (/^https?:\/\//.test(value)) throw invalidParameter(name, 'must not start with http:// or https://');
  return value;
}

function incorrectStatus(eip: StoredEip, operation: string): CloudApiError {
  return apiError(
    'IncorrectEipStatus',
    `Current elastic IP status does not support this operation: ${eip.allocationId} is ${eip.status}, ${operation} needs it ${operation === 'UnassociateEipAddress' ? 'InUse' : 'Available'}.`,
  );
}

export const allocateEipAddress: ActionHandler = ({ params, world }) => {
  const instanceChargeType = params.oneOf('InstanceChargeType', ['PostPaid', 'PrePaid'], 'PostPaid');
  const internetChargeType = params.oneOf('InternetChargeType', ['PayByBandwidth', 'PayByTraffic'], 'PayByBandwidth');
  if (instanceChargeType === 'PrePaid' && internetChargeType !== 'PayByBandwidth') {
    throw invalidParameter('InternetChargeType', 'a PrePaid EIP is charged PayByBandwidth');
  }
  const bandwidth = checkedBandwidth(params.optional('Bandwidth') ?? '5', instanceChargeType, internetChargeType);
  const isp = params.oneOf('ISP', ISPS, 'BGP');
  params.oneOf('Netmode', ['public'], 'public');
  const name = checkedText(params, 'Name', 128);
  const description = checkedText(params, 'Description', 256);
  const resourceGroupId = params.optional('ResourceGroupId');
  if (resourceGroupId !== undefined && !/^rg-[a-z0-9]+$/.test(resourceGroupId)) {
    throw apiError('InvalidResourceGroupId', `The specified ResourceGroupId is invalid: ${resourceGroupId}`);
  }
  const publicIpAddressPoolId = params.optional('PublicIpAddressPoolId');
  if (publicIpAddressPoolId !== undefined && !publicIpAddressPoolId.startsWith('pippool-')) {
    throw invalidParameter('PublicIpAddressPoolId', `${publicIpAddressPoolId} is not a pippool- id`);
  }
  const securityProtectionTypes = params.list('SecurityProtectionTypes', 10);
  for (const type of securityProtectionTypes)
    if (type !== 'AntiDDoS_Enhanced')
      throw invalidParameter('SecurityProtectionTypes.N', `${type} is not AntiDDoS_Enhanced`);
  const tags = checkedTags(params.tags());
  let expiredTime = '';
  if (instanceChargeType === 'PrePaid') {
    const cycle = params.oneOf('PricingCycle', ['Month', 'Year'], 'Month');
    const period = params.integer('Period', { min: 1, max: cycle === 'Month' ? 9 : 5 }, 1);
    const end = new Date(world.now());
    if (cycle === 'Month') end.setUTCMonth(end.getUTCMonth() + period);
    else end.setUTCFullYear(end.getUTCFullYear() + period);
    expiredTime = end.toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z');
  }
  // Accepted for compatibility and otherwise ignored, as nothing here depends on them.
  params.boolean('AutoPay');
  params.integer('ActivityId', { min: 0, max: Number.MAX_SAFE_INTEGER });

  if (world.eips.size >= world.eipQuota) {
    throw apiError(
      'QuotaExceeded.Eip',
      `Elastic IP address quota exceeded: the account holds ${world.eips.size} of ${world.eipQuota} EIPs.`,
    );
  }
  const ipAddress = world.takePublicAddress(params.optional('IpAddress'));
  const eip = world.addEip({
    ipAddress,
    bandwidth,
    internetChargeType,
    instanceChargeType,
    isp,
    name: name ?? '',
    description: description ?? '',
    resourceGroupId: resourceGroupId ?? world.defaultResourceGroupId,
    publicIpAddressPoolId: publicIpAddressPoolId ?? '',
    securityProtectionTypes,
    tags,
    expiredTime,
    ...(instanceChargeType === 'PrePaid' ? { orderId: world.newOrderId() } : {}),
  });
  // EipAddress and ResourceGroupId come back for PostPaid only; PrePaid answers with the order.
  if (instanceChargeType === 'PrePaid') return { AllocationId: eip.allocationId, OrderId: eip.orderId };
  return { AllocationId: eip.allocationId, EipAddress: eip.ipAddress, ResourceGroupId: eip.resourceGroupId };
};

export const associateEipAddress: ActionHandler = ({ params, world, lifecycle }) => {
  const eip = world.findEip(params.required('AllocationId'));
  const instanceId = params.required('InstanceId');
  const instanceType = params.oneOf(
    'InstanceType',
    INSTANCE_TYPES,
    'EcsInstance',
    'InvalidInstanceType.ValueNotSupported',
  );
  const mode = params.oneOf('Mode', ['NAT', 'MULTI_BINDED', 'BINDED'], 'NAT');
  if (eip.status !== 'Available') throw incorrectStatus(eip, 'AssociateEipAddress');

  const notFound = (): CloudApiError =>
    new CloudApiError('InvalidInstanceId.NotFound', {
      status: 404,
      message: `Specified instance does not exist: ${instanceType} ${instanceId}.`,
    });
  const duplicated = (detail: string): CloudApiError =>
    new CloudApiError('InvalidAssociation.Duplicated', {
      message: `Specified instance already is associated: ${detail}.`,
    });

  let binding: EipBinding;
  if (instanceType === 'NetworkInterface') {
    const eni = world.enis.get(instanceId);
    if (!eni) throw notFound();
    // EIPs go to secondary ENIs; a node's primary ENI is the instance itself (InstanceType EcsInstance).
    if (eni.type === 'Primary') {
      throw apiError(
        'OperationDenied',
        `${instanceId} is the primary ENI of ${eni.instanceId}; associate with the instance (InstanceType EcsInstance) instead.`,
      );
    }
    const privateIpAddress = params.optional('PrivateIpAddress');
    if (privateIpAddress === undefined)
      throw missingParameter(
        'PrivateIpAddress',
        'PrivateIpAddress is mandatory when InstanceType is NetworkInterface.',
      );
    if (!eni.privateIpAddresses.includes(privateIpAddress)) {
      throw invalidParameter(
        'PrivateIpAddress',
        `${privateIpAddress} is not a private IP of ${instanceId} (${eni.privateIpAddresses.join(', ')})`,
      );
    }
    const onEni = world.eipsOn(instanceId);
    const onIp = world.eipsOn(instanceId, privateIpAddress);
    if (onIp.length > 0) throw duplicated(`${instanceId} ${privateIpAddress} already has ${onIp[0]?.allocationId}`);
    if (onEni.some((other) => other.mode === 'BINDED')) throw duplicated(`${instanceId} has an EIP in BINDED mode`);
    if (mode === 'BINDED') {
      if (privateIpAddress !== eni.primaryIpAddress)
        throw invalidParameter('PrivateIpAddress', 'BINDED mode binds the ENI primary IP only');
      if (onEni.length > 0) throw duplicated(`${instanceId} already has an EIP; BINDED mode needs it to have none`);
    }
    if (mode === 'MULTI_BINDED' && onEni.length >= MULTI_BINDED_LIMIT)
      throw duplicated(`${instanceId} carries ${MULTI_BINDED_LIMIT} EIPs already`);
    binding = { instanceId, instanceType, privateIpAddress, mode };
  } else if (instanceType === 'EcsInstance') {
    const primary = world.primaryEniOfInstance(instanceId);
    if (!primary) throw notFound();
    const existing = [...world.eipsOn(instanceId), ...world.eipsOn(primary.networkInterfaceId)];
    if (existing.length > 0) throw duplicated(`${instanceId} already has ${existing[0]?.allocationId}`);
    binding = { instanceId, instanceType, privateIpAddress: primary.primaryIpAddress, mode: 'NAT' };
  } else {
    // SLB, NAT gateways, HaVips and IP addresses exist in the API but not in this account.
    throw notFound();
  }
  lifecycle.associate(eip, binding);
  return {};
};

export const unassociateEipAddress: ActionHandler = ({ params, world, lifecycle }) => {
  const eip = world.findEip(params.required('AllocationId'));
  const instanceId = params.optional('InstanceId');
  const instanceType =
    params.optional('InstanceType') === undefined
      ? undefined
      : params.oneOf('InstanceType', INSTANCE_TYPES, 'EcsInstance', 'InvalidInstanceType.ValueNotSupported');
  const privateIpAddress = params.optional('PrivateIpAddress');
  params.boolean('Force');
  // Terway relies on this: an EIP that is not bound answers IncorrectEipStatus.
  if (eip.status !== 'InUse') throw incorrectStatus(eip, 'UnassociateEipAddress');
  const mismatch = [
    instanceId !== undefined && instanceId !== eip.instanceId ? `InstanceId ${instanceId}` : undefined,
    instanceType !== undefined && instanceType !== eip.instanceType ? `InstanceType ${instanceType}` : undefined,
    privateIpAddress !== undefined && privateIpAddress !== eip.privateIpAddress
      ? `PrivateIpAddress ${privateIpAddress}`
      : undefined,
  ].filter((item): item is string => item !== undefined);
  if (mismatch.length > 0) {
    throw apiError(
      'InvalidBindingStatus',
      `The eip binding status invalid: ${eip.allocationId} is bound to ${eip.instanceType} ${eip.instanceId} ${eip.privateIpAddress}, not ${mismatch.join(', ')}.`,
    );
  }
  lifecycle.unassociate(eip);
  return {};
};

export const releaseEipAddress: ActionHandler = ({ params, world, lifecycle }) => {
  const eip = world.findEip(params.required('AllocationId'));
  if (eip.instanceChargeType === 'PrePaid')
    throw apiError(
      'Forbidden.ChargeTypeIsPrepaid',
      `${eip.allocationId} is PrePaid; only pay-as-you-go EIPs can be released.`,
    );
  if (eip.status !== 'Available') throw incorrectStatus(eip, 'ReleaseEipAddress');
  if (eip.bandwidthPackageId !== '')
    throw apiError(
      'OperationFailed.EipInCbwp',
      `${eip.allocationId} is in ${eip.bandwidthPackageId}; remove it from the package first.`,
    );
  lifecycle.release(eip);
  return {};
};

export const modifyEipAddressAttribute: ActionHandler = ({ params, world }) => {
  const eip = world.findEip(params.required('AllocationId'));
  const bandwidth = params.optional('Bandwidth');
  const name = checkedText(params, 'Name', 128);
  const description = checkedText(params, 'Description', 256);
  if (TRANSITIONAL.has(eip.status))
    throw apiError(
      'TaskConflict',
      `The eip operate too frequent, please try again later: ${eip.allocationId} is ${eip.status}.`,
    );
  if (bandwidth !== undefined)
    eip.bandwidth = checkedBandwidth(bandwidth, eip.instanceChargeType, eip.internetChargeType);
  if (name !== undefined) eip.name = name;
  if (description !== undefined) eip.description = description;
  return {};
};

export function isTransitional(eip: StoredEip): boolean {
  return TRANSITIONAL.has(eip.status);
}
