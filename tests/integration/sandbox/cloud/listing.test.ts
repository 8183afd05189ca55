/**
 * The read side: DescribeEipAddresses filters and pages, DescribeNetworkInterfaces token paging with
 * real-looking opaque tokens, and every body checked field by field against the SDK's own models.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  $Ecs,
  $Vpc,
  ecsClient,
  podNetwork,
  rawBody,
  sdkError,
  shapeProblems,
  startTestSandbox,
  vpcClient,
  waitForEipStatus,
  type EcsClient,
  type VpcClient,
} from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let ecs: EcsClient;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox({ eipQuota: 100 });
  vpc = vpcClient(sandbox);
  ecs = ecsClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());

const tag = (key: string, value: string) => new $Vpc.AllocateEipAddressRequestTag({ key, value });

async function allocate(tags: Array<$Vpc.AllocateEipAddressRequestTag> = []): Promise<string> {
  return (
    (await vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId, tag: tags }))).body?.allocationId ?? ''
  );
}

describe('DescribeEipAddresses', () => {
  it('filters by tags (all pairs must match; a key alone matches any value)', async () => {
    const mine = await allocate([tag('podeip.io/cluster', 'c1'), tag('podeip.io/pod-uid', 'u1')]);
    const sibling = await allocate([tag('podeip.io/cluster', 'c1'), tag('podeip.io/pod-uid', 'u2')]);
    await allocate([tag('podeip.io/cluster', 'c2')]);
    const byTags = async (tags: Array<{ key: string; value?: string }>) =>
      (
        await vpc.describeEipAddresses(
          new $Vpc.DescribeEipAddressesRequest({
            regionId,
            pageSize: 100,
            tag: tags.map((item) => new $Vpc.DescribeEipAddressesRequestTag(item)),
          }),
        )
      ).body?.eipAddresses?.eipAddress
        ?.map((eip) => eip.allocationId)
        .sort();
    expect(
      await byTags([
        { key: 'podeip.io/cluster', value: 'c1' },
        { key: 'podeip.io/pod-uid', value: 'u1' },
      ]),
    ).toEqual([mine]);
    expect(await byTags([{ key: 'podeip.io/cluster', value: 'c1' }])).toEqual([mine, sibling].sort());
    expect(await byTags([{ key: 'podeip.io/pod-uid' }])).toEqual([mine, sibling].sort());
    expect(await byTags([{ key: 'podeip.io/cluster', value: 'c3' }])).toEqual([]);
  });

  it('pages with PageNumber and PageSize, TotalCount counting every match', async () => {
    for (let index = 0; index < 5; index += 1) await allocate([tag('paging', 'yes')]);
    const page = async (pageNumber: number) =>
      (
        await vpc.describeEipAddresses(
          new $Vpc.DescribeEipAddressesRequest({
            regionId,
            pageSize: 2,
            pageNumber,
            tag: [new $Vpc.DescribeEipAddressesRequestTag({ key: 'paging', value: 'yes' })],
          }),
        )
      ).body;
    const pages = await Promise.all([1, 2, 3, 4].map(page));
    expect(pages.map((body) => body?.eipAddresses?.eipAddress?.length)).toEqual([2, 2, 1, 0]);
    expect(pages.every((body) => body?.totalCount === 5 && body.pageSize === 2)).toBe(true);
    const ids = pages.flatMap((body) => body?.eipAddresses?.eipAddress?.map((eip) => eip.allocationId) ?? []);
    expect(new Set(ids).size).toBe(5);
    expect(
      await sdkError(vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, pageSize: 101 }))),
    ).toMatchObject({ code: 'InvalidParameter' });
  });

  it('filters by comma lists of ids and addresses (at most 50), status and association', async () => {
    const a = await allocate();
    const b = await allocate();
    const addressOf = (id: string) => sandbox.controls.eips().find((eip) => eip.allocationId === id)?.ipAddress ?? '';
    const list = async (request: Partial<$Vpc.DescribeEipAddressesRequest>) =>
      (
        await vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, pageSize: 100, ...request }))
      ).body?.eipAddresses?.eipAddress
        ?.map((eip) => eip.allocationId)
        .sort();
    expect(await list({ allocationId: `${a},${b},eip-unknown0000000000000` })).toEqual([a, b].sort());
    expect(await list({ eipAddress: addressOf(b) })).toEqual([b]);
    const tooMany = Array.from({ length: 51 }, (_, index) => `eip-x${index}`).join(',');
    expect(await sdkError(list({ allocationId: tooMany }))).toMatchObject({ code: 'InvalidParameter' });

    const { eniId, podIp } = podNetwork(sandbox);
    await vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({
        regionId,
        allocationId: a,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        privateIpAddress: podIp,
      }),
    );
    await waitForEipStatus(vpc, regionId, a, 'InUse');
    expect(await list({ associatedInstanceType: 'NetworkInterface', associatedInstanceId: eniId })).toEqual([a]);
    expect(await list({ status: 'InUse', allocationId: `${a},${b}` })).toEqual([a]);
    expect(await sdkError(list({ associatedInstanceType: 'Toaster' }))).toMatchObject({
      code: 'InvalidIAssociatedInstanceType.ValueNotSupported',
    });
  });
});

describe('DescribeNetworkInterfaces', () => {
  it('pages with MaxResults and an opaque NextToken holding + / =, which the SDK carries intact', async () => {
    const nodeId = 'i-sandboxpaging001';
    for (let index = 0; index < 23; index += 1)
      sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: nodeId });
    const seen: string[] = [];
    const tokens: string[] = [];
    let nextToken: string | undefined;
    do {
      const body = (
        await ecs.describeNetworkInterfaces(
          new $Ecs.DescribeNetworkInterfacesRequest({
            regionId,
            instanceId: nodeId,
            maxResults: 10,
            ...(nextToken ? { nextToken } : {}),
          }),
        )
      ).body;
      seen.push(...(body?.networkInterfaceSets?.networkInterfaceSet?.map((eni) => eni.networkInterfaceId ?? '') ?? []));
      nextToken = body?.nextToken || undefined;
      if (nextToken) tokens.push(nextToken);
    } while (nextToken);
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    expect(tokens).toHaveLength(2);
    for (const token of tokens) expect(token).toMatch(/\+.*\/.*=$|\/.*\+.*=$/);
    // A token mangled the way a double-encoding client would mangle it is refused.
    const mangled = encodeURIComponent(tokens[0] ?? '');
    expect(
      await sdkError(
        ecs.describeNetworkInterfaces(
          new $Ecs.DescribeNetworkInterfacesRequest({ regionId, maxResults: 10, nextToken: mangled }),
        ),
      ),
    ).toMatchObject({ code: 'InvalidNextToken.Malformed' });
  });

  it('matches PrivateIpAddress.N against secondary IPs only, and PrimaryIpAddress against the primary', async () => {
    const eni = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: 'i-sandboxmatch0001' });
    const secondary = sandbox.controls.assignPrivateIpAddress(eni.networkInterfaceId);
    const ids = async (request: Partial<$Ecs.DescribeNetworkInterfacesRequest>) =>
      (
        await ecs.describeNetworkInterfaces(
          new $Ecs.DescribeNetworkInterfacesRequest({ regionId, vpcId: sandbox.vpcId, ...request }),
        )
      ).body?.networkInterfaceSets?.networkInterfaceSet?.map((item) => item.networkInterfaceId);
    expect(await ids({ privateIpAddress: [secondary] })).toEqual([eni.networkInterfaceId]);
    expect(await ids({ privateIpAddress: [eni.primaryIpAddress] })).toEqual([]);
    expect(await ids({ primaryIpAddress: eni.primaryIpAddress })).toEqual([eni.networkInterfaceId]);
    expect(await ids({ instanceId: 'i-sandboxmatch0001', type: 'Primary' })).toEqual([]);
  });
});

describe('bodies as the SDK models declare them', () => {
  it('has a check that catches an unknown field and a number sent for a string', () => {
    expect(
      shapeProblems({ RequestId: 'R', TotalCount: '1', Extra: true }, $Vpc.DescribeEipAddressesResponseBody),
    ).toEqual(['TotalCount: "1" is a string, the SDK declares number', 'Extra: not in the SDK model']);
    expect(
      shapeProblems({ EipAddresses: { EipAddress: { AllocationId: 'eip-1' } } }, $Vpc.DescribeEipAddressesResponseBody),
    ).toEqual(['EipAddresses.EipAddress: not an array']);
  });

  it('sends only fields the models know, each of the declared JSON type, every list an array', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await allocate([tag('shape', 'check')]);
    await vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({
        regionId,
        allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        privateIpAddress: podIp,
      }),
    );
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
    const [bandwidthPackage] = sandbox.controls.commonBandwidthPackages();
    await vpc.addCommonBandwidthPackageIp(
      new $Vpc.AddCommonBandwidthPackageIpRequest({
        regionId,
        bandwidthPackageId: bandwidthPackage?.bandwidthPackageId,
        ipInstanceId: allocationId,
      }),
    );

    const checks: Array<
      [Record<string, unknown>, { names(): Record<string, string>; types(): Record<string, unknown> }]
    > = [
      [
        await rawBody(vpc, 'AllocateEipAddress', '2016-04-28', { RegionId: regionId }),
        $Vpc.AllocateEipAddressResponseBody,
      ],
      [
        await rawBody(vpc, 'DescribeEipAddresses', '2016-04-28', { RegionId: regionId, AllocationId: allocationId }),
        $Vpc.DescribeEipAddressesResponseBody,
      ],
      [
        await rawBody(vpc, 'DescribeEipAddresses', '2016-04-28', { RegionId: regionId, AllocationId: 'eip-none' }),
        $Vpc.DescribeEipAddressesResponseBody,
      ],
      [
        await rawBody(vpc, 'ListTagResources', '2016-04-28', {
          RegionId: regionId,
          ResourceType: 'EIP',
          ResourceId: [allocationId],
        }),
        $Vpc.ListTagResourcesResponseBody,
      ],
      [
        await rawBody(vpc, 'DescribeCommonBandwidthPackages', '2016-04-28', { RegionId: regionId }),
        $Vpc.DescribeCommonBandwidthPackagesResponseBody,
      ],
      [
        await rawBody(vpc, 'ReleaseEipAddress', '2016-04-28', { RegionId: regionId, AllocationId: await allocate() }),
        $Vpc.ReleaseEipAddressResponseBody,
      ],
      [
        await rawBody(ecs, 'DescribeNetworkInterfaces', '2014-05-26', {
          RegionId: regionId,
          NetworkInterfaceId: [eniId],
        }),
        $Ecs.DescribeNetworkInterfacesResponseBody,
      ],
      [
        await rawBody(ecs, 'DescribeNetworkInterfaces', '2014-05-26', { RegionId: regionId, MaxResults: 10 }),
        $Ecs.DescribeNetworkInterfacesResponseBody,
      ],
    ];
    for (const [body, model] of checks) expect(shapeProblems(body, model)).toEqual([]);

    const described = checks[1]?.[0] as { EipAddresses: { EipAddress: Array<Record<string, unknown>> } };
    expect(described.EipAddresses.EipAddress[0]).toMatchObject({
      Bandwidth: '200',
      EipBandwidth: '5',
      BandwidthPackageType: 'CommonBandwidthPackage',
      OperationLocks: { LockReason: [] },
    });
    const enis = checks[6]?.[0] as {
      NetworkInterfaceSets: { NetworkInterfaceSet: Array<{ AssociatedPublicIp: unknown; OwnerId: unknown }> };
    };
    expect(enis.NetworkInterfaceSets.NetworkInterfaceSet[0]?.AssociatedPublicIp).toEqual({});
    expect(typeof enis.NetworkInterfaceSets.NetworkInterfaceSet[0]?.OwnerId).toBe('string');
  });
});
