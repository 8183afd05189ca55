/**
 * What Terway does under the binder's feet: a pod IP unassigned or an ENI deleted unbinds its EIP at once,
 * as the real cloud does, and a freed pod IP comes back for the next pod.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
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
  type VpcClient,
} from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  vpc = vpcClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.controls.setFaults({}));

async function boundEip(eniId: string, podIp: string, waitForInUse = true): Promise<string> {
  const allocationId =
    (await vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId }))).body?.allocationId ?? '';
  await vpc.associateEipAddress(
    new $Vpc.AssociateEipAddressRequest({
      regionId,
      allocationId,
      instanceId: eniId,
      instanceType: 'NetworkInterface',
      privateIpAddress: podIp,
    }),
  );
  if (waitForInUse) await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
  return allocationId;
}

describe('ENI and IP changes', () => {
  it('unbinds an InUse EIP when its private IP is unassigned, and leaves the other IPs bound', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const neighbourIp = sandbox.controls.assignPrivateIpAddress(eniId);
    const gone = await boundEip(eniId, podIp);
    const kept = await boundEip(eniId, neighbourIp);
    sandbox.controls.unassignPrivateIpAddress(eniId, podIp);
    expect(await eipStatus(vpc, regionId, gone)).toBe('Available');
    expect(await eipStatus(vpc, regionId, kept)).toBe('InUse');
    const described = await vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId: gone }),
    );
    expect(described.body?.eipAddresses?.eipAddress?.[0]).toMatchObject({ instanceId: '', privateIpAddress: '' });
    const enis = await ecsClient(sandbox).describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eniId] }),
    );
    expect(
      enis.body?.networkInterfaceSets?.networkInterfaceSet?.[0]?.privateIpSets?.privateIpSet?.map(
        (set) => set.privateIpAddress,
      ),
    ).not.toContain(podIp);
  });

  it('unbinds an EIP that was still Associating, and the transition does not resurrect it', async () => {
    sandbox.controls.setFaults({ stickTransitions: true });
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = await boundEip(eniId, podIp, false);
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Associating');
    sandbox.controls.unassignPrivateIpAddress(eniId, podIp);
    sandbox.controls.setFaults({});
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Available');
  });

  it('unbinds every EIP of a deleted ENI', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const secondIp = sandbox.controls.assignPrivateIpAddress(eniId);
    const first = await boundEip(eniId, podIp);
    const second = await boundEip(eniId, secondIp);
    sandbox.controls.deleteNetworkInterface(eniId);
    expect(await eipStatus(vpc, regionId, first)).toBe('Available');
    expect(await eipStatus(vpc, regionId, second)).toBe('Available');
    expect(sandbox.controls.networkInterfaces().map((eni) => eni.networkInterfaceId)).not.toContain(eniId);
  });

  it('hands a freed pod IP to the next pod, as a busy node does', () => {
    const { eniId, podIp } = podNetwork(sandbox);
    sandbox.controls.unassignPrivateIpAddress(eniId, podIp);
    expect(sandbox.controls.assignPrivateIpAddress(eniId)).toBe(podIp);
  });

  it('refuses control misuse with a plain error', () => {
    const { eniId } = podNetwork(sandbox);
    const primary =
      sandbox.controls.networkInterfaces().find((eni) => eni.networkInterfaceId === eniId)?.primaryIpAddress ?? '';
    expect(() => sandbox.controls.unassignPrivateIpAddress(eniId, primary)).toThrow(/primary IP/);
    expect(() => sandbox.controls.assignPrivateIpAddress('eni-nosuch')).toThrow(/no ENI/);
  });
});
