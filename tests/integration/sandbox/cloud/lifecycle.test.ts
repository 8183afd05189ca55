/**
 * An EIP's whole life as the binder drives it, through the real VPC and ECS SDK clients: allocate,
 * associate with a pod IP on a secondary ENI, wait for InUse, see it from ECS, unbind, release.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  $Ecs,
  $Vpc,
  ecsClient,
  eipStatus,
  podNetwork,
  startTestSandbox,
  vpcClient,
  waitForEipStatus,
  type EcsClient,
  type VpcClient,
} from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let ecs: EcsClient;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  vpc = vpcClient(sandbox);
  ecs = ecsClient(sandbox);
});
afterAll(() => sandbox.close());

describe('an EIP from allocation to release', () => {
  it('allocates, binds to a pod IP, shows the binding on both APIs, unbinds and releases', async () => {
    const regionId = sandbox.regionId;
    const { eniId, podIp } = podNetwork(sandbox);

    const allocated = await vpc.allocateEipAddress(
      new $Vpc.AllocateEipAddressRequest({
        regionId,
        bandwidth: '10',
        internetChargeType: 'PayByTraffic',
        name: 'pod-eip',
        tag: [new $Vpc.AllocateEipAddressRequestTag({ key: 'podeip.io/pod-uid', value: 'uid-1' })],
      }),
    );
    const allocationId = allocated.body?.allocationId ?? '';
    const address = allocated.body?.eipAddress ?? '';
    expect(allocated.statusCode).toBe(200);
    expect(allocationId).toMatch(/^eip-[a-z0-9]{20}$/);
    expect(address).toMatch(/^(203\.0\.113|198\.51\.100)\.\d{1,3}$/);
    expect(allocated.body?.requestId).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Available');

    // Asynchronous: the call is accepted while the EIP is still on its way (held there to observe it).
    sandbox.controls.setFaults({ stickTransitions: true });
    await vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({
        regionId,
        allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        privateIpAddress: podIp,
      }),
    );
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Associating');
    sandbox.controls.setFaults({});
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');

    const described = await vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }));
    const eip = described.body?.eipAddresses?.eipAddress?.[0];
    expect(eip).toMatchObject({
      allocationId,
      ipAddress: address,
      status: 'InUse',
      instanceId: eniId,
      instanceType: 'NetworkInterface',
      privateIpAddress: podIp,
      bandwidth: '10',
      internetChargeType: 'PayByTraffic',
      name: 'pod-eip',
      vpcId: sandbox.vpcId,
    });
    expect(eip?.tags?.tag).toEqual([expect.objectContaining({ key: 'podeip.io/pod-uid', value: 'uid-1' })]);

    const enis = await ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, vpcId: sandbox.vpcId, privateIpAddress: [podIp] }),
    );
    const eni = enis.body?.networkInterfaceSets?.networkInterfaceSet?.[0];
    expect(eni?.networkInterfaceId).toBe(eniId);
    const podIpSet = eni?.privateIpSets?.privateIpSet?.find((set) => set.privateIpAddress === podIp);
    expect(podIpSet?.primary).toBe(false);
    expect(podIpSet?.associatedPublicIp).toMatchObject({ allocationId, publicIpAddress: address });

    sandbox.controls.setFaults({ stickTransitions: true });
    await vpc.unassociateEipAddress(
      new $Vpc.UnassociateEipAddressRequest({
        regionId,
        allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        privateIpAddress: podIp,
      }),
    );
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Unassociating');
    sandbox.controls.setFaults({});
    await waitForEipStatus(vpc, regionId, allocationId, 'Available');
    const afterUnbind = await ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eniId] }),
    );
    const unboundSet =
      afterUnbind.body?.networkInterfaceSets?.networkInterfaceSet?.[0]?.privateIpSets?.privateIpSet?.find(
        (set) => set.privateIpAddress === podIp,
      );
    expect(unboundSet).toMatchObject({ privateIpAddress: podIp, primary: false });
    expect(unboundSet!.associatedPublicIp?.allocationId).toBeUndefined();

    await vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }));
    await waitForEipStatus(vpc, regionId, allocationId, undefined);
    const gone = await vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }));
    expect(gone.body?.totalCount).toBe(0);
    expect(gone.body?.eipAddresses?.eipAddress).toEqual([]);
    expect(sandbox.controls.eips()).toEqual([]);

    expect(sandbox.controls.callCounts()).toMatchObject({
      AllocateEipAddress: { ok: 1, failed: 0 },
      AssociateEipAddress: { ok: 1, failed: 0 },
      UnassociateEipAddress: { ok: 1, failed: 0 },
      ReleaseEipAddress: { ok: 1, failed: 0 },
    });
  });

  it('serves the inventory as JSON for humans and the demo', async () => {
    const eip = sandbox.controls.createEip({ name: 'static' });
    const response = await fetch(sandbox.inventoryUrl);
    expect(response.status).toBe(200);
    const inventory = (await response.json()) as {
      regionId: string;
      vpcId: string;
      eips: Array<{ allocationId: string }>;
      commonBandwidthPackages: unknown[];
    };
    expect(inventory.regionId).toBe(sandbox.regionId);
    expect(inventory.vpcId).toBe(sandbox.vpcId);
    expect(inventory.eips.map((item) => item.allocationId)).toContain(eip.allocationId);
    expect(inventory.commonBandwidthPackages).toHaveLength(1);
  });

  it('frees its port on close', async () => {
    const other = await startTestSandbox();
    await other.close();
    await expect(fetch(other.inventoryUrl)).rejects.toThrow();
  });
});
