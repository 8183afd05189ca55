/**
 * The seven VPC actions the binder uses, sent exactly as @alicloud/vpc20160428's client sends them, over
 * openapi-core's client with the SDK's own request and response models.
 *
 * Why not the SDK's client: its module loads all of the API's ~1,200 models up front, which costs a
 * process about 50 MB of memory (measured: RSS 73 MB with openapi-core alone, 121 MB with the VPC client)
 * for seven actions. Each client method of the SDK does the same four things, which `call` does once:
 * validate the request, put every field that is set into the query under its API name (the model's
 * `names()`), call the action in RPC style, and cast the answer into the response model.
 * tests/integration/binder/vpc-api.test.ts holds this to the SDK's client, byte for byte on the wire.
 */
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { AddCommonBandwidthPackageIpRequest } from '@alicloud/vpc20160428/dist/models/AddCommonBandwidthPackageIpRequest.js';
import { AddCommonBandwidthPackageIpResponse } from '@alicloud/vpc20160428/dist/models/AddCommonBandwidthPackageIpResponse.js';
import {
  AllocateEipAddressRequest,
  AllocateEipAddressRequestTag,
} from '@alicloud/vpc20160428/dist/models/AllocateEipAddressRequest.js';
import { AllocateEipAddressResponse } from '@alicloud/vpc20160428/dist/models/AllocateEipAddressResponse.js';
import { AssociateEipAddressRequest } from '@alicloud/vpc20160428/dist/models/AssociateEipAddressRequest.js';
import { AssociateEipAddressResponse } from '@alicloud/vpc20160428/dist/models/AssociateEipAddressResponse.js';
import {
  DescribeEipAddressesRequest,
  DescribeEipAddressesRequestTag,
} from '@alicloud/vpc20160428/dist/models/DescribeEipAddressesRequest.js';
import { DescribeEipAddressesResponse } from '@alicloud/vpc20160428/dist/models/DescribeEipAddressesResponse.js';
import { ReleaseEipAddressRequest } from '@alicloud/vpc20160428/dist/models/ReleaseEipAddressRequest.js';
import { ReleaseEipAddressResponse } from '@alicloud/vpc20160428/dist/models/ReleaseEipAddressResponse.js';
import { RemoveCommonBandwidthPackageIpRequest } from '@alicloud/vpc20160428/dist/models/RemoveCommonBandwidthPackageIpRequest.js';
import { RemoveCommonBandwidthPackageIpResponse } from '@alicloud/vpc20160428/dist/models/RemoveCommonBandwidthPackageIpResponse.js';
import { UnassociateEipAddressRequest } from '@alicloud/vpc20160428/dist/models/UnassociateEipAddressRequest.js';
import { UnassociateEipAddressResponse } from '@alicloud/vpc20160428/dist/models/UnassociateEipAddressResponse.js';

export {
  AddCommonBandwidthPackageIpRequest,
  AllocateEipAddressRequest,
  AllocateEipAddressRequestTag,
  AssociateEipAddressRequest,
  DescribeEipAddressesRequest,
  DescribeEipAddressesRequestTag,
  ReleaseEipAddressRequest,
  RemoveCommonBandwidthPackageIpRequest,
  UnassociateEipAddressRequest,
};

/**
 * What is used of openapi-core's client, which signs, sends and reads the answer (the binder's ECS calls use it too).
 */
interface OpenApiCaller {
  callApi(
    params: $OpenApiUtil.Params,
    request: $OpenApiUtil.OpenApiRequest,
    runtime: $dara.RuntimeOptions,
  ): Promise<{ [key: string]: unknown }>;
}

/** The API version the models belong to. */
const VPC_API_VERSION = '2016-04-28';

/**
 * Regions whose VPC API answers only at the central endpoint (the SDK's endpoint table); every other
 * region has its own, `vpc.<region>.aliyuncs.com`.
 */
const CENTRAL_ENDPOINT_REGIONS: ReadonlySet<string> = new Set([
  'cn-hangzhou',
  'cn-hangzhou-finance',
  'cn-shanghai-finance-1',
  'cn-shenzhen-finance-1',
  'cn-north-2-gov-1',
]);

/** The VPC endpoint the SDK would pick for a region. */
export function defaultVpcEndpoint(regionId: string): string {
  return CENTRAL_ENDPOINT_REGIONS.has(regionId) ? 'vpc.aliyuncs.com' : `vpc.${regionId}.aliyuncs.com`;
}

/**
 * How the generated SDKs call an RPC-style action: POST to /, parameters in the query, an AccessKey
 * (ACS3) signature, a JSON answer.
 */
export function rpcActionParams(action: string, version: string): $OpenApiUtil.Params {
  return new $OpenApiUtil.Params({
    action,
    version,
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}

/** What a request model's class tells about its fields: their API names. */
interface ModelClass {
  names(): Record<string, string>;
}

export class VpcApi {
  constructor(private readonly client: OpenApiCaller) {}

  allocateEipAddress(request: AllocateEipAddressRequest): Promise<AllocateEipAddressResponse> {
    return this.call('AllocateEipAddress', request, new AllocateEipAddressResponse({}));
  }

  describeEipAddresses(request: DescribeEipAddressesRequest): Promise<DescribeEipAddressesResponse> {
    return this.call('DescribeEipAddresses', request, new DescribeEipAddressesResponse({}));
  }

  associateEipAddress(request: AssociateEipAddressRequest): Promise<AssociateEipAddressResponse> {
    return this.call('AssociateEipAddress', request, new AssociateEipAddressResponse({}));
  }

  unassociateEipAddress(request: UnassociateEipAddressRequest): Promise<UnassociateEipAddressResponse> {
    return this.call('UnassociateEipAddress', request, new UnassociateEipAddressResponse({}));
  }

  releaseEipAddress(request: ReleaseEipAddressRequest): Promise<ReleaseEipAddressResponse> {
    return this.call('ReleaseEipAddress', request, new ReleaseEipAddressResponse({}));
  }

  addCommonBandwidthPackageIp(
    request: AddCommonBandwidthPackageIpRequest,
  ): Promise<AddCommonBandwidthPackageIpResponse> {
    return this.call('AddCommonBandwidthPackageIp', request, new AddCommonBandwidthPackageIpResponse({}));
  }

  removeCommonBandwidthPackageIp(
    request: RemoveCommonBandwidthPackageIpRequest,
  ): Promise<RemoveCommonBandwidthPackageIpResponse> {
    return this.call('RemoveCommonBandwidthPackageIp', request, new RemoveCommonBandwidthPackageIpResponse({}));
  }

  private async call<T extends $dara.Model>(action: string, request: $dara.Model, response: T): Promise<T> {
    request.validate();
    const query: Record<string, unknown> = {};
    const names = (request.constructor as unknown as ModelClass).names();
    for (const [field, apiName] of Object.entries(names)) {
      const value: unknown = (request as unknown as Record<string, unknown>)[field];
      if (!$dara.isNull(value)) query[apiName] = value;
    }
    const params = rpcActionParams(action, VPC_API_VERSION);
    const openApiRequest = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) });
    return $dara.cast<T>(await this.client.callApi(params, openApiRequest, new $dara.RuntimeOptions({})), response);
  }
}
