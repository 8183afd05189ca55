/**
 * binder/cloud/vpc-api.ts sends the seven VPC actions without loading the SDK's client. Here both send the
 * same request models to one recording HTTP server: every request must be the same on the wire (method,
 * path, query, body, headers other than the per-request date, nonce and signature), and the answer must
 * come back as the same response model.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenApiModule, { $OpenApiUtil } from '@alicloud/openapi-core';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allocateEipRequest, describeEipsRequest } from '../../../../binder/cloud/alibaba-requests.js';
import { sdkDefaultExport } from '../../../../binder/cloud/sdk-module.js';
import * as $Slim from '../../../../binder/cloud/vpc-api.js';
import { $Vpc, VpcClient } from '../../sandbox/cloud/support.js';

interface Recorded {
  method: string;
  path: string;
  query: Array<[string, string]>;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** What differs between two sends of one request by design: the time, the nonce and what they sign. */
const PER_REQUEST_HEADERS = ['x-acs-date', 'x-acs-signature-nonce', 'authorization'];

const ANSWERS: Record<string, unknown> = {
  AllocateEipAddress: {
    RequestId: 'r1',
    AllocationId: 'eip-bp1abc',
    EipAddress: '198.51.100.7',
    OrderId: 0,
    ResourceGroupId: 'rg-1',
  },
  DescribeEipAddresses: {
    RequestId: 'r2',
    TotalCount: 1,
    PageNumber: 1,
    PageSize: 100,
    EipAddresses: {
      EipAddress: [
        {
          AllocationId: 'eip-bp1abc',
          IpAddress: '198.51.100.7',
          Status: 'InUse',
          InstanceId: 'eni-1',
          InstanceType: 'NetworkInterface',
          PrivateIpAddress: '10.0.0.5',
          Bandwidth: '5',
          EipBandwidth: '5',
          ISP: 'BGP',
          Tags: { Tag: [{ Key: 'podeip.io/pod-uid', Value: 'u-1' }] },
        },
      ],
    },
  },
  AssociateEipAddress: { RequestId: 'r3' },
  UnassociateEipAddress: { RequestId: 'r4' },
  ReleaseEipAddress: { RequestId: 'r5' },
  AddCommonBandwidthPackageIp: { RequestId: 'r6' },
  RemoveCommonBandwidthPackageIp: { RequestId: 'r7' },
};

let server: Server;
const recorded: Recorded[] = [];

function record(req: IncomingMessage, body: string): string {
  const url = new URL(req.url ?? '/', 'http://recorder');
  const headers = { ...req.headers };
  for (const name of PER_REQUEST_HEADERS) delete headers[name];
  recorded.push({
    method: req.method ?? '',
    path: url.pathname,
    query: [...url.searchParams.entries()],
    body,
    headers,
  });
  return String(req.headers['x-acs-action']);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const action = record(req, body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ANSWERS[action] ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function config(): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({
    accessKeyId: 'test-only-key-id',
    accessKeySecret: 'test-only-secret',
    regionId: 'cn-beijing',
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    protocol: 'http',
  });
}

/** One request model of each action, every field the binder sets filled in. */
function requests() {
  const regionId = 'cn-beijing';
  const allocate = allocateEipRequest(
    regionId,
    {
      mode: 'auto',
      bandwidth: 20,
      internetChargeType: 'PayByBandwidth',
      instanceChargeType: 'PrePaid',
      releaseStrategy: { type: 'Follow' },
      isp: 'BGP_PRO',
      publicIpAddressPoolId: 'pippool-1',
      resourceGroupId: 'rg-1',
      name: 'web-0 (shop)',
      description: 'ünïcode & spaces',
      securityProtectionTypes: ['AntiDDoS_Enhanced'],
      tags: { team: 'games' },
    },
    { clientToken: 'token-1', ownershipTags: { 'podeip.io/pod-uid': 'u-1', 'podeip.io/cluster': 'c-1' } },
  );
  const association = {
    regionId,
    allocationId: 'eip-bp1abc',
    instanceId: 'eni-1',
    instanceType: 'NetworkInterface',
    privateIpAddress: '10.0.0.5',
    clientToken: 'token-2',
  };
  return {
    allocate,
    describe: describeEipsRequest(
      regionId,
      {
        allocationIds: ['eip-1', 'eip-2'],
        tags: { 'podeip.io/cluster': 'c-1' },
        associatedNetworkInterfaceId: 'eni-1',
      },
      3,
    ),
    associate: new $Slim.AssociateEipAddressRequest(association),
    unassociate: new $Slim.UnassociateEipAddressRequest(association),
    release: new $Slim.ReleaseEipAddressRequest({ regionId, allocationId: 'eip-bp1abc' }),
    add: new $Slim.AddCommonBandwidthPackageIpRequest({
      regionId,
      bandwidthPackageId: 'cbwp-1',
      ipInstanceId: 'eip-bp1abc',
      ipType: 'EIP',
      clientToken: 'token-3',
    }),
    remove: new $Slim.RemoveCommonBandwidthPackageIpRequest({
      regionId,
      bandwidthPackageId: 'cbwp-1',
      ipInstanceId: 'eip-bp1abc',
      clientToken: 'token-4',
    }),
  };
}

/** An answer as plain JSON, without the Date header (the server's clock, not something the client reads). */
function sameButDate(answer: unknown): unknown {
  const plain = JSON.parse(JSON.stringify(answer)) as { headers?: Record<string, unknown> } | null;
  if (plain?.headers !== undefined) delete plain.headers.date;
  return plain;
}

describe('the VPC actions without the SDK client', () => {
  it('send what the SDK client sends and read its answers into the same models', async () => {
    const sdk = new VpcClient(config());
    const slim = new $Slim.VpcApi(new (sdkDefaultExport(OpenApiModule))(config()));
    const r = requests();
    // The SDK client's methods are typed with its own copies of the models; the classes are the same files.
    const sends: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
      [
        'AllocateEipAddress',
        () => sdk.allocateEipAddress(r.allocate as unknown as $Vpc.AllocateEipAddressRequest),
        () => slim.allocateEipAddress(r.allocate),
      ],
      [
        'DescribeEipAddresses',
        () => sdk.describeEipAddresses(r.describe as unknown as $Vpc.DescribeEipAddressesRequest),
        () => slim.describeEipAddresses(r.describe),
      ],
      [
        'AssociateEipAddress',
        () => sdk.associateEipAddress(r.associate as unknown as $Vpc.AssociateEipAddressRequest),
        () => slim.associateEipAddress(r.associate),
      ],
      [
        'UnassociateEipAddress',
        () => sdk.unassociateEipAddress(r.unassociate as unknown as $Vpc.UnassociateEipAddressRequest),
        () => slim.unassociateEipAddress(r.unassociate),
      ],
      [
        'ReleaseEipAddress',
        () => sdk.releaseEipAddress(r.release as unknown as $Vpc.ReleaseEipAddressRequest),
        () => slim.releaseEipAddress(r.release),
      ],
      [
        'AddCommonBandwidthPackageIp',
        () => sdk.addCommonBandwidthPackageIp(r.add as unknown as $Vpc.AddCommonBandwidthPackageIpRequest),
        () => slim.addCommonBandwidthPackageIp(r.add),
      ],
      [
        'RemoveCommonBandwidthPackageIp',
        () => sdk.removeCommonBandwidthPackageIp(r.remove as unknown as $Vpc.RemoveCommonBandwidthPackageIpRequest),
        () => slim.removeCommonBandwidthPackageIp(r.remove),
      ],
    ];
    for (const [action, viaSdk, viaSlim] of sends) {
      recorded.length = 0;
      const sdkAnswer = await viaSdk();
      const slimAnswer = await viaSlim();
      expect(recorded).toHaveLength(2);
      const [fromSdk, fromSlim] = recorded as [Recorded, Recorded];
      expect(fromSdk.headers['x-acs-action']).toBe(action);
      expect(fromSlim).toEqual(fromSdk);
      // The answers carry the server's Date header, which differs when the two calls straddle a second.
      expect(sameButDate(slimAnswer)).toEqual(sameButDate(sdkAnswer));
      expect(slimAnswer?.constructor.name).toBe(sdkAnswer?.constructor.name);
    }
  });

  it('reads the answer into the fields the binder uses', async () => {
    const slim = new $Slim.VpcApi(new (sdkDefaultExport(OpenApiModule))(config()));
    recorded.length = 0;
    const allocated = await slim.allocateEipAddress(requests().allocate);
    expect(allocated.body).toMatchObject({ allocationId: 'eip-bp1abc', eipAddress: '198.51.100.7' });
    const query = new Map(recorded[0]?.query);
    expect(
      Object.fromEntries(
        [
          'RegionId',
          'ClientToken',
          'Bandwidth',
          'ISP',
          'InstanceChargeType',
          'AutoPay',
          'Tag.1.Key',
          'SecurityProtectionTypes.1',
        ].map((k) => [k, query.get(k)]),
      ),
    ).toEqual({
      RegionId: 'cn-beijing',
      ClientToken: 'token-1',
      Bandwidth: '20',
      ISP: 'BGP_PRO',
      InstanceChargeType: 'PrePaid',
      AutoPay: 'true',
      'Tag.1.Key': 'team',
      'SecurityProtectionTypes.1': 'AntiDDoS_Enhanced',
    });
    const described = await slim.describeEipAddresses(requests().describe);
    expect(described.body?.eipAddresses?.eipAddress?.[0]).toMatchObject({
      allocationId: 'eip-bp1abc',
      status: 'InUse',
      tags: { tag: [{ key: 'podeip.io/pod-uid', value: 'u-1' }] },
    });
  });

  it('picks the endpoint the SDK picks for a region', () => {
    expect($Slim.defaultVpcEndpoint('cn-hangzhou')).toBe('vpc.aliyuncs.com');
    expect($Slim.defaultVpcEndpoint('cn-beijing')).toBe('vpc.cn-beijing.aliyuncs.com');
    expect($Slim.defaultVpcEndpoint('ap-southeast-1')).toBe('vpc.ap-southeast-1.aliyuncs.com');
    for (const regionId of [
      'cn-hangzhou',
      'cn-beijing',
      'cn-shanghai',
      'ap-southeast-1',
      'eu-central-1',
      'cn-shenzhen-finance-1',
    ]) {
      const sdk = new VpcClient(new $OpenApiUtil.Config({ accessKeyId: 'x', accessKeySecret: 'y', regionId }));
      expect($Slim.defaultVpcEndpoint(regionId)).toBe((sdk as unknown as { _endpoint: string })._endpoint);
    }
  });
});
