/**
 * Tagging after allocation (TagResources, UnTagResources, ListTagResources with NextToken paging) and
 * Internet Shared Bandwidth membership (Add/RemoveCommonBandwidthPackageIp, asynchronous both ways).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { pollUntil } from '../../poll.js';
import { $Vpc, sdkError, startTestSandbox, vpcClient, waitForEipStatus, type VpcClient } from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  vpc = vpcClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());

const allocate = async (): Promise<string> =>
  (await vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId }))).body?.allocationId ?? '';
const tagsOf = (allocationId: string) => sandbox.controls.eips().find((eip) => eip.allocationId === allocationId)?.tags;
const tagRequest = (resourceId: string[], tags: Array<[string, string]>) =>
  new $Vpc.TagResourcesRequest({
    regionId,
    resourceType: 'EIP',
    resourceId,
    tag: tags.map(([key, value]) => new $Vpc.TagResourcesRequestTag({ key, value })),
  });

describe('tags', () => {
  it('tags, overwrites, lists and untags EIPs', async () => {
    const a = await allocate();
    const b = await allocate();
    await vpc.tagResources(
      tagRequest(
        [a, b],
        [
          ['team', 'net'],
          ['env', 'dev'],
        ],
      ),
    );
    await vpc.tagResources(tagRequest([a], [['env', 'prod']]));
    expect(tagsOf(a)).toEqual([
      { key: 'team', value: 'net' },
      { key: 'env', value: 'prod' },
    ]);

    const listed = await vpc.listTagResources(
      new $Vpc.ListTagResourcesRequest({
        regionId,
        resourceType: 'EIP',
        tag: [new $Vpc.ListTagResourcesRequestTag({ key: 'env', value: 'prod' })],
      }),
    );
    expect(listed.body?.tagResources?.tagResource?.map((row) => [row.resourceId, row.tagKey, row.tagValue])).toEqual([
      [a, 'team', 'net'],
      [a, 'env', 'prod'],
    ]);
    expect(listed.body?.nextToken).toBe('');

    await vpc.unTagResources(
      new $Vpc.UnTagResourcesRequest({ regionId, resourceType: 'EIP', resourceId: [a], tagKey: ['team'] }),
    );
    expect(tagsOf(a)).toEqual([{ key: 'env', value: 'prod' }]);
    await vpc.unTagResources(
      new $Vpc.UnTagResourcesRequest({ regionId, resourceType: 'EIP', resourceId: [b], all: true }),
    );
    expect(tagsOf(b)).toEqual([]);
  });

  it('pages ListTagResources with NextToken', async () => {
    const id = await allocate();
    await vpc.tagResources(
      tagRequest(
        [id],
        Array.from({ length: 7 }, (_, index): [string, string] => [`key${index}`, `value${index}`]),
      ),
    );
    const rows: string[] = [];
    let nextToken: string | undefined;
    do {
      const body = (
        await vpc.listTagResources(
          new $Vpc.ListTagResourcesRequest({
            regionId,
            resourceType: 'EIP',
            resourceId: [id],
            maxResults: 3,
            ...(nextToken ? { nextToken } : {}),
          }),
        )
      ).body;
      rows.push(...(body?.tagResources?.tagResource?.map((row) => row.tagKey ?? '') ?? []));
      nextToken = body?.nextToken || undefined;
    } while (nextToken);
    expect(rows).toEqual(['key0', 'key1', 'key2', 'key3', 'key4', 'key5', 'key6']);
  });

  it('refuses more than 20 tags on one EIP, unknown EIPs, and a listing with neither ids nor tags', async () => {
    const id = await allocate();
    await vpc.tagResources(
      tagRequest(
        [id],
        Array.from({ length: 20 }, (_, index): [string, string] => [`k${index}`, 'v']),
      ),
    );
    expect(await sdkError(vpc.tagResources(tagRequest([id], [['one-more', 'v']])))).toMatchObject({
      code: 'QuotaExceeded.TagNum',
    });
    expect(await sdkError(vpc.tagResources(tagRequest(['eip-nosuch000000000000'], [['k', 'v']])))).toMatchObject({
      code: 'InvalidInstanceIds.NotFound',
    });
    expect(
      await sdkError(vpc.listTagResources(new $Vpc.ListTagResourcesRequest({ regionId, resourceType: 'EIP' }))),
    ).toMatchObject({ code: 'BothEmpty.TagsAndResources', statusCode: 403 });
  });
});

describe('Internet Shared Bandwidth', () => {
  const membership = async (bandwidthPackageId: string) =>
    (
      await vpc.describeCommonBandwidthPackages(
        new $Vpc.DescribeCommonBandwidthPackagesRequest({ regionId, bandwidthPackageId }),
      )
    ).body?.commonBandwidthPackages?.commonBandwidthPackage?.[0]?.publicIpAddresses?.publicIpAddresse;

  it('adds an EIP (BINDING → BINDED), keeps it from release, then removes it', async () => {
    const bandwidthPackage = sandbox.controls.createCommonBandwidthPackage({ name: 'test', bandwidth: '100' });
    const id = bandwidthPackage.bandwidthPackageId;
    const allocationId = await allocate();
    // Held in BINDING, so what the cloud does meanwhile is observed whatever the machine's speed.
    sandbox.controls.setFaults({ stickTransitions: true });
    await vpc.addCommonBandwidthPackageIp(
      new $Vpc.AddCommonBandwidthPackageIpRequest({
        regionId,
        bandwidthPackageId: id,
        ipInstanceId: allocationId,
        clientToken: 'add-1',
      }),
    );
    expect(await membership(id)).toEqual([
      expect.objectContaining({ allocationId, bandwidthPackageIpRelationStatus: 'BINDING' }),
    ]);
    const described = await vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }));
    expect(described.body?.eipAddresses?.eipAddress?.[0]).toMatchObject({
      bandwidthPackageId: id,
      bandwidth: '100',
      eipBandwidth: '5',
    });

    const remove = () =>
      vpc.removeCommonBandwidthPackageIp(
        new $Vpc.RemoveCommonBandwidthPackageIpRequest({
          regionId,
          bandwidthPackageId: id,
          ipInstanceId: allocationId,
        }),
      );
    expect(await sdkError(remove())).toMatchObject({ code: 'BandwidthPackageOperation.conflict' });
    sandbox.controls.setFaults({});
    const settled = await pollUntil(
      () => membership(id),
      (members) => members?.[0]?.bandwidthPackageIpRelationStatus !== 'BINDING',
      (members) => `${allocationId} is still ${JSON.stringify(members)}`,
    );
    expect(settled).toEqual([expect.objectContaining({ bandwidthPackageIpRelationStatus: 'BINDED' })]);
    expect(
      await sdkError(vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'OperationFailed.EipInCbwp' });

    await remove();
    const left = await pollUntil(
      () => membership(id),
      (members) => members?.[0]?.bandwidthPackageIpRelationStatus !== 'UNBINDING',
      (members) => `${allocationId} is still ${JSON.stringify(members)}`,
    );
    expect(left).toEqual([]);
    expect(await sdkError(remove())).toMatchObject({ name: 'ClientError', code: 'OperationUnsupported.IpNotInCbwp' });
    await vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }));
    await waitForEipStatus(vpc, regionId, allocationId, undefined);
  });

  it('has a default package, and answers 404 for one that does not exist', async () => {
    expect(sandbox.controls.commonBandwidthPackages()[0]?.bandwidthPackageId).toMatch(/^cbwp-/);
    const error = await sdkError(
      vpc.addCommonBandwidthPackageIp(
        new $Vpc.AddCommonBandwidthPackageIpRequest({
          regionId,
          bandwidthPackageId: 'cbwp-nosuch',
          ipInstanceId: await allocate(),
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'InvalidBandwidthPackageId.NotFound', statusCode: 404 });
  });
});
