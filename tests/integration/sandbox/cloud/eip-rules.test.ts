/**
 * The EIP state machine's rules as the binder meets them: what each state allows, the association limits,
 * the quota, and the validation of AllocateEipAddress, each answered with the real error code.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  $Ecs,
  $Vpc,
  ecsClient,
  eipStatus,
  podNetwork,
  sdkError,
  startTestSandbox,
  vpcClient,
  waitForEipStatus,
  type VpcClient,
} from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let regionId: string;

beforeAll(async () => {
  // Room for every EIP this file allocates; the quota test starts its own sandbox.
  sandbox = await startTestSandbox({ eipQuota: 100 });
  vpc = vpcClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.setFaults({});
  sandbox.controls.setTransitionDelays({ associateMs: 40, unassociateMs: 40, releaseMs: 40 });
});

async function allocate(extra: Partial<$Vpc.AllocateEipAddressRequest> = {}): Promise<string> {
  const response = await vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId, ...extra }));
  return response.body?.allocationId ?? '';
}

function associate(
  allocationId: string,
  instanceId: string,
  privateIpAddress?: string,
  instanceType = 'NetworkInterface',
) {
  return vpc.associateEipAddress(
    new $Vpc.AssociateEipAddressRequest({
      regionId,
      allocationId,
      instanceId,
      instanceType,
      ...(privateIpAddress ? { privateIpAddress } : {}),
    }),
  );
}

describe('what each state allows', () => {
  it('refuses writes while Associating: IncorrectEipStatus for the state machine, TaskConflict for attributes', async () => {
    sandbox.controls.setFaults({ stickTransitions: true });
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await allocate();
    await associate(allocationId, eniId, podIp);
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Associating');

    const other = podNetwork(sandbox);
    expect(await sdkError(associate(allocationId, other.eniId, other.podIp))).toMatchObject({
      name: 'ClientError',
      code: 'IncorrectEipStatus',
      statusCode: 400,
    });
    expect(
      await sdkError(vpc.unassociateEipAddress(new $Vpc.UnassociateEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'IncorrectEipStatus' });
    expect(
      await sdkError(vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'IncorrectEipStatus' });
    expect(
      await sdkError(
        vpc.modifyEipAddressAttribute(new $Vpc.ModifyEipAddressAttributeRequest({ regionId, allocationId, name: 'x' })),
      ),
    ).toMatchObject({ code: 'TaskConflict' });

    // A held transition finishes once the fault is lifted.
    sandbox.controls.setFaults({});
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
  });

  it('refuses to release an InUse EIP, and to unbind one that is not bound', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await allocate();
    expect(
      await sdkError(vpc.unassociateEipAddress(new $Vpc.UnassociateEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'IncorrectEipStatus' });
    await associate(allocationId, eniId, podIp);
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
    const error = await sdkError(vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId })));
    expect(error).toMatchObject({ name: 'ClientError', code: 'IncorrectEipStatus', statusCode: 400 });
    expect(error.message).toContain('InUse');
  });

  it('refuses an unbind that names another binding', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await allocate();
    await associate(allocationId, eniId, podIp);
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
    const error = await sdkError(
      vpc.unassociateEipAddress(
        new $Vpc.UnassociateEipAddressRequest({
          regionId,
          allocationId,
          instanceId: eniId,
          instanceType: 'NetworkInterface',
          privateIpAddress: '192.168.255.1',
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'InvalidBindingStatus' });
  });

  it('answers 404 InvalidAllocationId.NotFound for an EIP that does not exist', async () => {
    for (const call of [
      vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId: 'eip-doesnotexist000000' })),
      vpc.unassociateEipAddress(
        new $Vpc.UnassociateEipAddressRequest({ regionId, allocationId: 'eip-doesnotexist000000' }),
      ),
    ]) {
      expect(await sdkError(call)).toMatchObject({
        name: 'ClientError',
        code: 'InvalidAllocationId.NotFound',
        statusCode: 404,
      });
    }
  });

  it('can end an association back at Available (failedTransitionRate)', async () => {
    sandbox.controls.setFaults({ failedTransitionRate: 1 });
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await allocate();
    await associate(allocationId, eniId, podIp);
    await waitForEipStatus(vpc, regionId, allocationId, 'Available');
    expect(sandbox.controls.eips().find((eip) => eip.allocationId === allocationId)).toMatchObject({
      instanceId: '',
      privateIpAddress: '',
    });
  });
});

describe('association limits', () => {
  it('binds one EIP per private IP: a second one is InvalidAssociation.Duplicated', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const first = await allocate();
    const second = await allocate();
    // Already while the first is Associating: the IP is taken from the moment the call is accepted.
    sandbox.controls.setFaults({ stickTransitions: true });
    await associate(first, eniId, podIp);
    expect(await sdkError(associate(second, eniId, podIp))).toMatchObject({
      name: 'ClientError',
      code: 'InvalidAssociation.Duplicated',
    });
    sandbox.controls.setFaults({});
    await waitForEipStatus(vpc, regionId, first, 'InUse');
    expect(await sdkError(associate(second, eniId, podIp))).toMatchObject({ code: 'InvalidAssociation.Duplicated' });
    const otherIp = sandbox.controls.assignPrivateIpAddress(eniId);
    await associate(second, eniId, otherIp);
    await waitForEipStatus(vpc, regionId, second, 'InUse');
  });

  it('checks the ENI and the private IP', async () => {
    const { eniId } = podNetwork(sandbox);
    const allocationId = await allocate();
    expect(await sdkError(associate(allocationId, 'eni-doesnotexist00000000', '192.168.0.9'))).toMatchObject({
      code: 'InvalidInstanceId.NotFound',
      statusCode: 404,
    });
    expect(await sdkError(associate(allocationId, eniId))).toMatchObject({
      code: 'MissingPrivateIpAddress',
      statusCode: 400,
    });
    expect(await sdkError(associate(allocationId, eniId, '10.9.9.9'))).toMatchObject({ code: 'InvalidParameter' });
    expect(await sdkError(associate(allocationId, eniId, '10.9.9.9', 'Foo'))).toMatchObject({
      code: 'InvalidInstanceType.ValueNotSupported',
    });
  });

  it('binds to an ECS instance through its primary ENI, shown on that ENI', async () => {
    const node = sandbox.controls.createNetworkInterface({ type: 'Primary', instanceId: 'i-sandboxecs00001' });
    const allocationId = await allocate();
    await associate(allocationId, 'i-sandboxecs00001', undefined, 'EcsInstance');
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
    const enis = await ecsClient(sandbox).describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [node.networkInterfaceId] }),
    );
    expect(enis.body?.networkInterfaceSets?.networkInterfaceSet?.[0]?.associatedPublicIp?.allocationId).toBe(
      allocationId,
    );
    expect(await sdkError(associate(await allocate(), 'i-sandboxecs00001', undefined, 'EcsInstance'))).toMatchObject({
      code: 'InvalidAssociation.Duplicated',
    });
    // A node's primary ENI takes EIPs only as the instance, never as a NetworkInterface (a hostNetwork pod's IP).
    expect(await sdkError(associate(await allocate(), node.networkInterfaceId, node.primaryIpAddress))).toMatchObject({
      code: 'OperationDenied',
    });
  });
});

describe('allocation', () => {
  it('validates bandwidth by billing method', async () => {
    expect(await sdkError(allocate({ internetChargeType: 'PayByTraffic', bandwidth: '201' }))).toMatchObject({
      code: 'InvalidParameter',
      statusCode: 400,
    });
    expect(await sdkError(allocate({ bandwidth: '0' }))).toMatchObject({ code: 'InvalidParameter' });
    expect(await allocate({ internetChargeType: 'PayByBandwidth', bandwidth: '500' })).toMatch(/^eip-/);
    expect(await sdkError(allocate({ internetChargeType: 'PayByBandwidth', bandwidth: '501' }))).toMatchObject({
      code: 'InvalidParameter',
    });
    expect(await sdkError(allocate({ internetChargeType: 'Free' }))).toMatchObject({ code: 'InvalidParameter' });
  });

  it('answers a PrePaid allocation with an order, and will not release it', async () => {
    const response = await vpc.allocateEipAddress(
      new $Vpc.AllocateEipAddressRequest({
        regionId,
        instanceChargeType: 'PrePaid',
        bandwidth: '1000',
        pricingCycle: 'Month',
        period: 1,
        autoPay: true,
      }),
    );
    expect(response.body?.orderId).toEqual(expect.any(Number));
    expect(response.body?.eipAddress).toBeUndefined();
    const allocationId = response.body?.allocationId ?? '';
    expect(
      await sdkError(vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'Forbidden.ChargeTypeIsPrepaid' });
  });

  it('takes at most 20 tags, with valid keys', async () => {
    const tags = (count: number) =>
      Array.from(
        { length: count },
        (_, index) => new $Vpc.AllocateEipAddressRequestTag({ key: `k${index}`, value: 'v' }),
      );
    expect(await sdkError(allocate({ tag: tags(21) }))).toMatchObject({ code: 'SizeLimitExceeded.TagNum' });
    expect(
      await sdkError(allocate({ tag: [new $Vpc.AllocateEipAddressRequestTag({ key: 'aliyun-x', value: 'v' })] })),
    ).toMatchObject({ code: 'InvalidTagKey' });
    expect(await allocate({ tag: tags(20) })).toMatch(/^eip-/);
  });

  it('modifies bandwidth, name and description, checking the bandwidth against the billing', async () => {
    const allocationId = await allocate({ internetChargeType: 'PayByTraffic' });
    const modify = (request: Partial<$Vpc.ModifyEipAddressAttributeRequest>) =>
      vpc.modifyEipAddressAttribute(new $Vpc.ModifyEipAddressAttributeRequest({ regionId, allocationId, ...request }));
    await modify({ bandwidth: '50', name: 'renamed', description: 'about' });
    expect(sandbox.controls.eips().find((eip) => eip.allocationId === allocationId)).toMatchObject({
      bandwidth: '50',
      name: 'renamed',
      description: 'about',
    });
    expect(await sdkError(modify({ bandwidth: '201' }))).toMatchObject({ code: 'InvalidParameter' });
  });

  it('stops at the quota with QuotaExceeded.Eip, and counts a released EIP out', async () => {
    const quotaSandbox = await startTestSandbox({ eipQuota: 2 });
    try {
      const client = vpcClient(quotaSandbox);
      const request = () => client.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId }));
      const first = (await request()).body?.allocationId ?? '';
      await request();
      expect(await sdkError(request())).toMatchObject({
        name: 'ClientError',
        code: 'QuotaExceeded.Eip',
        statusCode: 400,
      });
      await client.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId: first }));
      await waitForEipStatus(client, regionId, first, undefined);
      expect((await request()).body?.allocationId).toMatch(/^eip-/);
    } finally {
      await quotaSandbox.close();
    }
  });

  it('hands out the two documentation /24s first, then the benchmarking block, never an address twice', async () => {
    const large = await startTestSandbox({ eipQuota: 600, rateLimitScale: 100 });
    try {
      const client = vpcClient(large);
      for (let i = 0; i < 2 * 254 + 3; i += 1)
        await client.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId: large.regionId }));
      const addresses = large.controls.eips().map((eip) => eip.ipAddress);
      expect(new Set(addresses).size).toBe(addresses.length);
      const documentation = addresses.filter((ip) => /^(203\.0\.113|198\.51\.100)\.([1-9]\d*)$/.test(ip));
      expect(documentation).toHaveLength(2 * 254);
      expect(addresses.filter((ip) => !documentation.includes(ip))).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
    } finally {
      await large.close();
    }
  });
});
