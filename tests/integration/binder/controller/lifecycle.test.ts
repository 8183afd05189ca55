/**
 * The release lifecycle where it meets the network as it is on Alibaba Cloud: Terway keeps a freed IP on
 * its ENI and gives it to the node's next pod. A pod whose EIP is kept after it goes (Never, TTL) must not
 * leave that EIP on its old IP, or the next pod there sends and receives through another workload's public
 * address; the next pod of the same name gets the kept EIP associated again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  conditionOf,
  deletePod,
  podBody,
  podIpOf,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
const NEVER = { 'k8s.aliyun.com/pod-with-eip': 'true', 'k8s.aliyun.com/pod-eip-release-strategy': 'Never' };
let world: World;
let binder: TestBinder;

beforeAll(async () => {
  // One node, so the next pod takes the IP the last one freed.
  world = await startWorld({ cluster: { nodes: 1, warmPool: true } });
  binder = await startSyncedBinder(world);
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

async function readyWithEip(name: string): Promise<void> {
  await waitFor(
    `${name} Ready with its EIP`,
    () =>
      conditionOf(storedPod(world, NS, name), EIP_CONDITION_TYPE)?.status === 'True' &&
      conditionOf(storedPod(world, NS, name), 'Ready')?.status === 'True',
  );
}

describe('a Never EIP whose pod is deleted, on a network that reuses IPs', () => {
  it('is unbound from the freed IP, kept, and bound again to the next pod of the name', async () => {
    const controls = world.sandbox.cloud.controls;
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('keeper', NEVER) });
    await readyWithEip('keeper');
    const ip = podIpOf(storedPod(world, NS, 'keeper'))!;
    const allocationId = String((storedPodEip(world, NS, 'keeper')!.spec as { allocationID: string }).allocationID);
    expect(controls.eips().find((e) => e.allocationId === allocationId)).toMatchObject({ privateIpAddress: ip });

    await deletePod(world, NS, 'keeper');
    await waitFor('keeper gone', () => storedPod(world, NS, 'keeper') === undefined);
    await waitFor('the kept EIP unbound', () => {
      const eip = controls.eips().find((e) => e.allocationId === allocationId);
      return eip?.status === 'Available' && eip.privateIpAddress === '';
    });
    // The record keeps the EIP and says, as the cloud does, that it is bound to nothing.
    await waitFor('the PodEIP without ENI and IP', () => {
      const status = storedPodEip(world, NS, 'keeper')?.status as Record<string, unknown> | undefined;
      return status?.status === 'Available' && status.networkInterfaceID === undefined;
    });

    // The next pod on the node gets the freed IP, and no EIP with it.
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('neighbour', {}) });
    await waitFor('neighbour has an IP', () => podIpOf(storedPod(world, NS, 'neighbour')) !== undefined);
    expect(podIpOf(storedPod(world, NS, 'neighbour'))).toBe(ip);
    expect(controls.eips().filter((e) => e.privateIpAddress === ip)).toEqual([]);

    // The next pod of the name gets the kept EIP, on its own IP.
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('keeper', NEVER) });
    await readyWithEip('keeper');
    const newIp = podIpOf(storedPod(world, NS, 'keeper'))!;
    expect(newIp).not.toBe(ip);
    expect(controls.eips().find((e) => e.allocationId === allocationId)).toMatchObject({
      status: 'InUse',
      privateIpAddress: newIp,
    });
  });
});
