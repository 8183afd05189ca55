/**
 * A binder told to watch some namespaces (one watch of each kind per namespace) binds pods there and
 * leaves every other namespace alone: no condition, no PodEIP, no cloud call.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  conditionOf,
  createNamespace,
  podBody,
  sleep,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

let world: World;
let binder: TestBinder;

beforeAll(async () => {
  world = await startWorld({ cloud: { seed: 41 } });
  for (const ns of ['team-a', 'team-b', 'team-c']) await createNamespace(world, ns);
  binder = await startSyncedBinder(world, { config: { namespaces: ['team-a', 'team-b'] } });
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

it('binds pods in the namespaces it watches and ignores the rest', async () => {
  const controls = world.sandbox.cloud.controls;
  const eips = { 'team-a': controls.createEip(), 'team-b': controls.createEip(), 'team-c': controls.createEip() };
  for (const [ns, eip] of Object.entries(eips)) {
    await world.core.createNamespacedPod({
      namespace: ns,
      body: podBody('web', { 'k8s.aliyun.com/pod-eip-instanceid': eip.allocationId }),
    });
  }
  await waitFor('team-a and team-b Ready', () =>
    ['team-a', 'team-b'].every((ns) => conditionOf(storedPod(world, ns, 'web'), 'Ready')?.status === 'True'),
  );
  expect(binder.binder.hasSynced()).toBe(true);
  await waitFor(
    'team-c has its IP',
    () =>
      storedPod(world, 'team-c', 'web')?.status !== undefined &&
      (storedPod(world, 'team-c', 'web')!.status as { podIP?: string }).podIP,
  );
  await sleep(300);
  expect(conditionOf(storedPod(world, 'team-c', 'web'), EIP_CONDITION_TYPE)).toBeUndefined();
  expect(storedPodEip(world, 'team-c', 'web')).toBeUndefined();
  expect(controls.eips().find((e) => e.allocationId === eips['team-c'].allocationId)).toMatchObject({
    status: 'Available',
  });
  expect(controls.callCounts().AssociateEipAddress?.ok).toBe(2);
});
