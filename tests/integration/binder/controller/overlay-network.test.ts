/**
 * A cluster whose pods get overlay addresses (Flannel-style): no ENI holds a pod IP, so no EIP can reach
 * the pod. The binder says so (NoNetworkInterface) and allocates nothing it could not bind.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  conditionOf,
  podBody,
  podEvents,
  podIpOf,
  sleep,
  startSyncedBinder,
  startWorld,
  storedPod,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
let world: World;
let binder: TestBinder;

beforeAll(async () => {
  world = await startWorld({ cluster: { network: 'overlay' } });
  binder = await startSyncedBinder(world);
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

it('gives an overlay pod NoNetworkInterface and an Event, and allocates no EIP for it', async () => {
  await world.core.createNamespacedPod({
    namespace: NS,
    body: podBody('flannel-pod', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
  });
  const condition = await waitFor('NoNetworkInterface', () => {
    const found = conditionOf(storedPod(world, NS, 'flannel-pod'), EIP_CONDITION_TYPE);
    return found?.reason === 'NoNetworkInterface' ? found : undefined;
  });
  const ip = podIpOf(storedPod(world, NS, 'flannel-pod'));
  expect(condition).toMatchObject({ status: 'False' });
  expect(condition!.message).toContain(`pod IP ${ip}`);
  const event = await waitFor('a Warning Event', async () =>
    (await podEvents(world, NS, 'flannel-pod')).find((e) => e.reason === 'NoNetworkInterface'),
  );
  expect(event.type).toBe('Warning');
  await sleep(300);
  const calls = world.sandbox.cloud.controls.callCounts();
  expect(calls.AllocateEipAddress).toBeUndefined();
  expect(calls.DescribeNetworkInterfaces?.ok).toBeGreaterThan(0);
  expect(world.sandbox.cloud.controls.eips()).toEqual([]);
  expect(conditionOf(storedPod(world, NS, 'flannel-pod'), 'Ready')?.status).toBe('False');
});
