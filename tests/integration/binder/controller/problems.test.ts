/**
 * What the user sees when a pod cannot have its EIP: the condition False with a reason per cause and a
 * Warning Event, never a crash, never a hot retry of a failure only a person can fix. No webhook is
 * registered here, so annotations the webhook would have refused reach the binder.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  addressOf,
  conditionOf,
  deletePod,
  eipsOwnedBy,
  podBody,
  podEvents,
  podIpOf,
  sleep,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
let world: World;
let binder: TestBinder;

beforeAll(async () => {
  world = await startWorld();
  binder = await startSyncedBinder(world);
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

const eipCondition = (name: string): Record<string, unknown> | undefined =>
  conditionOf(storedPod(world, NS, name), EIP_CONDITION_TYPE);
const callCount = (action: string): { ok: number; failed: number } =>
  world.sandbox.cloud.controls.callCounts()[action] ?? { ok: 0, failed: 0 };

describe('annotations that slipped past the webhook', () => {
  it('give InvalidEipAnnotations naming each problem, an Event, no PodEIP, and the binder goes on', async () => {
    const allocatesBefore = callCount('AllocateEipAddress').ok + callCount('AllocateEipAddress').failed;
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('bad', {
        'k8s.aliyun.com/pod-with-eip': 'true',
        'k8s.aliyun.com/eip-bandwidth': 'lots',
        'k8s.aliyun.com/eip-isp': 'Nope',
      }),
    });
    const condition = await waitFor('InvalidEipAnnotations', () =>
      eipCondition('bad')?.reason === 'InvalidEipAnnotations' ? eipCondition('bad') : undefined,
    );
    expect(condition).toMatchObject({ status: 'False' });
    expect(condition!.message).toContain('k8s.aliyun.com/eip-bandwidth="lots"');
    expect(condition!.message).toContain('k8s.aliyun.com/eip-isp="Nope"');
    const events = await waitFor('a Warning Event', async () => {
      const found = (await podEvents(world, NS, 'bad')).filter((e) => e.reason === 'InvalidEipAnnotations');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning', message: condition!.message });
    expect(storedPodEip(world, NS, 'bad')).toBeUndefined();
    expect(callCount('AllocateEipAddress').ok + callCount('AllocateEipAddress').failed).toBe(allocatesBefore);
    expect(conditionOf(storedPod(world, NS, 'bad'), 'Ready')?.status).toBe('False');

    // Still working: a good pod right after is bound.
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('good-after-bad', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    await waitFor(
      'good-after-bad Ready',
      () => conditionOf(storedPod(world, NS, 'good-after-bad'), 'Ready')?.status === 'True',
    );
    await deletePod(world, NS, 'good-after-bad');
    await waitFor('good-after-bad cleaned up', () => storedPodEip(world, NS, 'good-after-bad') === undefined);
  });
});

describe('a static EIP another live pod holds', () => {
  it('makes the second pod wait with EipInUseByAnotherPod, leaving the first pod’s binding alone', async () => {
    const eip = world.sandbox.cloud.controls.createEip();
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('holder', { 'k8s.aliyun.com/pod-eip-instanceid': eip.allocationId }),
    });
    await waitFor('holder Ready', () => conditionOf(storedPod(world, NS, 'holder'), 'Ready')?.status === 'True');
    const holderIp = podIpOf(storedPod(world, NS, 'holder'));

    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('second', { 'k8s.aliyun.com/pod-eip-instanceid': eip.allocationId }),
    });
    const condition = await waitFor('EipInUseByAnotherPod', () =>
      eipCondition('second')?.reason === 'EipInUseByAnotherPod' ? eipCondition('second') : undefined,
    );
    expect(condition).toMatchObject({ status: 'False' });
    expect(condition!.message).toContain(`${NS}/holder`);
    await waitFor('a Warning Event', async () =>
      (await podEvents(world, NS, 'second')).some((e) => e.reason === 'EipInUseByAnotherPod' && e.type === 'Warning'),
    );
    await sleep(500);
    const now = world.sandbox.cloud.controls.eips().find((e) => e.allocationId === eip.allocationId);
    expect(now).toMatchObject({ status: 'InUse', privateIpAddress: holderIp });
    expect(conditionOf(storedPod(world, NS, 'second'), 'Ready')?.status).toBe('False');
    expect(addressOf(storedPod(world, NS, 'second'))).toBeUndefined();
  });
});

describe('a pod whose annotations are removed while it runs', () => {
  it('has its auto EIP unbound and released; the stale address goes, the condition stays True', async () => {
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('changes-mind', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    await waitFor(
      'changes-mind Ready',
      () => conditionOf(storedPod(world, NS, 'changes-mind'), 'Ready')?.status === 'True',
    );
    const uid = storedPod(world, NS, 'changes-mind')!.metadata.uid!;
    const [eip] = eipsOwnedBy(world, uid);
    const unassociatesBefore = callCount('UnassociateEipAddress').ok;
    await world.core.patchNamespacedPod({
      namespace: NS,
      name: 'changes-mind',
      body: [{ op: 'remove', path: '/metadata/annotations/k8s.aliyun.com~1pod-with-eip' }],
    });
    await waitFor('PodEIP changes-mind gone', () => storedPodEip(world, NS, 'changes-mind') === undefined);
    expect(callCount('UnassociateEipAddress').ok).toBe(unassociatesBefore + 1);
    expect(world.sandbox.cloud.controls.eips().find((e) => e.allocationId === eip!.allocationId)).toBeUndefined();
    await waitFor('address annotation removed', () => addressOf(storedPod(world, NS, 'changes-mind')) === undefined);
    expect(eipCondition('changes-mind')).toMatchObject({ status: 'True' });
  });
});

describe('the EIP quota', () => {
  it('gives EipQuotaExceeded with the cloud’s safe message, and Allocate is not retried hot', async () => {
    const controls = world.sandbox.cloud.controls;
    controls.setEipQuota(controls.eips().length);
    const failedBefore = callCount('AllocateEipAddress').failed;
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('over-quota', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
    });
    const condition = await waitFor('EipQuotaExceeded', () =>
      eipCondition('over-quota')?.reason === 'EipQuotaExceeded' ? eipCondition('over-quota') : undefined,
    );
    expect(condition).toMatchObject({ status: 'False' });
    expect(condition!.message).toContain('QuotaExceeded.Eip');
    const connection = world.sandbox.cloudConnection();
    expect(condition!.message).not.toContain(connection.accessKeyId);
    expect(condition!.message).not.toContain(connection.accessKeySecret);
    const event = await waitFor('a Warning Event', async () =>
      (await podEvents(world, NS, 'over-quota')).find((e) => e.reason === 'EipQuotaExceeded'),
    );
    expect(event).toMatchObject({ type: 'Warning', message: condition!.message });
    // The queue's own backoff would have retried within 1 s, then 2 s: a slow retry waits minutes.
    await sleep(1500);
    expect(callCount('AllocateEipAddress').failed - failedBefore).toBe(1);
    expect(storedPodEip(world, NS, 'over-quota')?.spec).toMatchObject({ allocationID: '' });
  });
});
