/**
 * A binder stopped in the middle of a binding, and a new one started: the new one finishes the job from
 * what the cluster and the cloud say (the PodEIP, the ownership tags, the EIP's state), never allocates a
 * second EIP for a pod, and leaves nothing behind once the pods are deleted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  conditionOf,
  deletePod,
  eipsOfCluster,
  eipsOwnedBy,
  podBody,
  podIpOf,
  sleep,
  startTestBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
let world: World;
const binders: TestBinder[] = [];

beforeAll(async () => {
  world = await startWorld({ cloud: { seed: 21 } });
});
afterEach(async () => {
  world.sandbox.kube.controls.reset();
  world.sandbox.cloud.controls.setFaults({});
  for (const b of binders.splice(0)) await b.stop();
});
afterAll(async () => {
  await world?.close();
});

async function binder(name: string): Promise<TestBinder> {
  const started = await startTestBinder(world, { name });
  binders.push(started);
  return started;
}

const calls = (action: string): number => world.sandbox.cloud.controls.callCounts()[action]?.ok ?? 0;
const uidOf = (name: string): string => storedPod(world, NS, name)!.metadata.uid!;

describe('stopped right after Allocate, before the allocation was recorded', () => {
  it('the next binder finds the EIP by its tags and binds it; no second EIP', async () => {
    // Every PodEIP write fails, so the first binder allocates and cannot record it.
    world.sandbox.kube.controls.failRequests({
      fraction: 1,
      status: 500,
      path: /podeips\/(adopted|lost)/,
      methods: ['PATCH'],
    });
    const first = await binder('first');
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('adopted', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('lost', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    await waitFor(
      'both EIPs allocated',
      () => eipsOwnedBy(world, uidOf('adopted')).length === 1 && eipsOwnedBy(world, uidOf('lost')).length === 1,
    );
    await sleep(200);
    await first.stop();
    expect(storedPodEip(world, NS, 'adopted')!.spec).toMatchObject({ allocationID: '' });
    const lostUid = uidOf('lost');
    // One pod goes while no binder runs: its EIP must not be orphaned.
    await deletePod(world, NS, 'lost');
    await waitFor('lost gone', () => storedPod(world, NS, 'lost') === undefined);
    world.sandbox.kube.controls.reset();
    const allocatesBefore = calls('AllocateEipAddress');

    await binder('second');
    await waitFor('adopted Ready', () => conditionOf(storedPod(world, NS, 'adopted'), 'Ready')?.status === 'True');
    const owned = eipsOwnedBy(world, uidOf('adopted'));
    expect(owned).toHaveLength(1);
    expect(owned[0]).toMatchObject({ status: 'InUse', privateIpAddress: podIpOf(storedPod(world, NS, 'adopted')) });
    expect(storedPodEip(world, NS, 'adopted')!.spec).toMatchObject({ allocationID: owned[0]!.allocationId });
    await waitFor('the EIP of the pod deleted meanwhile released', () => eipsOwnedBy(world, lostUid).length === 0);
    await waitFor('its PodEIP gone', () => storedPodEip(world, NS, 'lost') === undefined);
    expect(calls('AllocateEipAddress')).toBe(allocatesBefore);

    await deletePod(world, NS, 'adopted');
    await waitFor(
      'nothing left',
      () => eipsOfCluster(world).length === 0 && storedPodEip(world, NS, 'adopted') === undefined,
    );
  });
});

describe('stopped while the EIP is Associating', () => {
  it('the next binder waits for the association it did not make, and does not make another', async () => {
    // Associations started now never finish until the faults are lifted.
    world.sandbox.cloud.controls.setFaults({ stickTransitions: true });
    const first = await binder('first');
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('midway', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    await waitFor('Associating', () => eipsOwnedBy(world, uidOf('midway'))[0]?.status === 'Associating');
    await first.stop();
    const associatesBefore = calls('AssociateEipAddress');

    await binder('second');
    await sleep(800);
    expect(conditionOf(storedPod(world, NS, 'midway'), 'Ready')?.status).toBe('False');
    expect(conditionOf(storedPod(world, NS, 'midway'), 'k8s.aliyun.com/eip')).toMatchObject({
      status: 'False',
      reason: 'AssociatingEip',
    });
    world.sandbox.cloud.controls.setFaults({});
    await waitFor('midway Ready', () => conditionOf(storedPod(world, NS, 'midway'), 'Ready')?.status === 'True');
    expect(calls('AssociateEipAddress')).toBe(associatesBefore);
    expect(eipsOwnedBy(world, uidOf('midway'))).toHaveLength(1);

    await deletePod(world, NS, 'midway');
    await waitFor(
      'nothing left',
      () => eipsOfCluster(world).length === 0 && storedPodEip(world, NS, 'midway') === undefined,
    );
  });
});
