/**
 * The actions the stand-in serves, by API version (the SDK sends it in `x-acs-version`), with the
 * product each belongs to and whether it honours ClientToken (docs/alibaba-cloud-api.md#clienttoken-idempotency).
 */
import type { ActionHandler } from './action-context.js';
import {
  addCommonBandwidthPackageIp,
  describeCommonBandwidthPackages,
  removeCommonBandwidthPackageIp,
} from './bandwidth-package-actions.js';
import { describeEipAddresses } from './describe-eips.js';
import {
  allocateEipAddress,
  associateEipAddress,
  modifyEipAddressAttribute,
  releaseEipAddress,
  unassociateEipAddress,
} from './eip-actions.js';
import { describeNetworkInterfaces } from './network-interface-actions.js';
import { listTagResources, tagResources, unTagResources } from './tag-actions.js';

export type Product = 'Vpc' | 'Ecs';

export interface ActionSpec {
  product: Product;
  handler: ActionHandler;
  acceptsClientToken: boolean;
}

export const API_VERSIONS: Readonly<Record<string, Product>> = { '2016-04-28': 'Vpc', '2014-05-26': 'Ecs' };

const vpc = (handler: ActionHandler, acceptsClientToken = false): ActionSpec => ({
  product: 'Vpc',
  handler,
  acceptsClientToken,
});

const ACTIONS: Readonly<Record<Product, Readonly<Record<string, ActionSpec>>>> = {
  Vpc: {
    AllocateEipAddress: vpc(allocateEipAddress, true),
    AssociateEipAddress: vpc(associateEipAddress, true),
    UnassociateEipAddress: vpc(unassociateEipAddress, true),
    DescribeEipAddresses: vpc(describeEipAddresses),
    ReleaseEipAddress: vpc(releaseEipAddress),
    ModifyEipAddressAttribute: vpc(modifyEipAddressAttribute),
    TagResources: vpc(tagResources),
    UnTagResources: vpc(unTagResources),
    ListTagResources: vpc(listTagResources),
    AddCommonBandwidthPackageIp: vpc(addCommonBandwidthPackageIp, true),
    RemoveCommonBandwidthPackageIp: vpc(removeCommonBandwidthPackageIp, true),
    DescribeCommonBandwidthPackages: vpc(describeCommonBandwidthPackages),
  },
  Ecs: {
    DescribeNetworkInterfaces: { product: 'Ecs', handler: describeNetworkInterfaces, acceptsClientToken: false },
  },
};

export function findAction(product: Product, action: string): ActionSpec | undefined {
  return Object.hasOwn(ACTIONS[product], action) ? ACTIONS[product][action] : undefined;
}

/** The product's public endpoint, which the real gateway names as HostId in error bodies. */
export function hostIdFor(product: Product, regionId: string): string {
  if (product === 'Vpc') return regionId === 'cn-hangzhou' ? 'vpc.aliyuncs.com' : `vpc.${regionId}.aliyuncs.com`;
  return regionId === 'cn-hangzhou' ? 'ecs-cn-hangzhou.aliyuncs.com' : `ecs.${regionId}.aliyuncs.com`;
}
