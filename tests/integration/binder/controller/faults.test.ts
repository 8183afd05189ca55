/**
 * A Deployment whose pods ask for auto EIPs, bound while the cloud fails a tenth of all calls (5xx, broken
 * connections, flow control) and the server's AssociateEipAddress limit is tighter than the binder's own
 * (so the server throttles with a Retry-After): every replica still ends with exactly one EIP of its own,
 * InUse on its IP, and nothing is left over once the Deployment is gone. The rate-limit window is 2 s on
 * both sides here. The binder's own bucket lets 2 associations go at once (half its limit of 4); the server
 * takes 1 a window, so the six associations always meet its throttling, however the binder spaces them.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  GATE,
  addressOf,
  binderConfig,
  conditionOf,
  eipsOfCluster,
  eipsOwnedBy,
  metricValue,
  podIpOf,
  scaledLimits,
  startTestBinder,
  startWorld,
  storedPodEips,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
const REPLICAS = 6;
const WINDOW_SECONDS = 2;
let world: World;
let binder: TestBinder;

beforeAll(async () => {
  world = await startWorld({
    cloud: { seed: 11, rateLimitWindowMs: WINDOW_SECONDS * 1000, rateLimitScale: WINDOW_SECONDS / 60 },
  });
  binder = await startTestBinder(world, {
    config: {
      cloud: {
        ...binderConfig(world).cloud,
        rateLimitsPerMinute: scaledLimits(WINDOW_SECONDS),
        rateLimitWindowSeconds: WINDOW_SECONDS,
      },
    },
  });
});
afterAll(async () => {
  world?.sandbox.cloud.controls.setFaults({});
  await binder?.stop();
  await world?.close();
});

function deployment(replicas: number): k8s.V1Deployment {
  return {
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' } },
        spec: {
          containers: [{ name: 'app', image: 'nginx:1.27' }],
          readinessGates: GATE,
          terminationGracePeriodSeconds: 1,
        },
      },
    },
  };
}

function webPods(): k8s.V1Pod[] {
  const store = world.sandbox.kube.store;
  return store.list(store.resourceType('', 'pods')!, { namespace: NS, labelSelector: 'app=web' })
    .items as unknown as k8s.V1Pod[];
}

it('binds one EIP per replica through faults and throttling, and leaks none when the Deployment goes', async () => {
  const controls = world.sandbox.cloud.controls;
  controls.setFaults({
    failureRate: 0.1,
    codes: ['InternalError', 'ServiceUnavailable', 'ConnectionReset', 'BadGateway', 'Throttling.User', 'Throttling'],
  });
  controls.setRateLimits({ perMinute: { AssociateEipAddress: 1 } });

  await world.apps.createNamespacedDeployment({ namespace: NS, body: deployment(REPLICAS) });
  const ready = await waitFor(
    `${REPLICAS} replicas Ready`,
    () => {
      const pods = webPods();
      return pods.length === REPLICAS &&
        pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        ? pods
        : undefined;
    },
    60_000,
  );

  for (const pod of ready) {
    const owned = eipsOwnedBy(world, pod.metadata!.uid!);
    expect(owned).toHaveLength(1);
    expect(owned[0]).toMatchObject({ status: 'InUse', privateIpAddress: podIpOf(pod as never) });
    expect(addressOf(pod as never)).toBe(owned[0]!.ipAddress);
    expect(pod.status?.conditions?.find((c) => c.type === EIP_CONDITION_TYPE)).toMatchObject({
      status: 'True',
      reason: 'Associate eip succeed',
    });
  }
  expect(eipsOfCluster(world)).toHaveLength(REPLICAS);
  const calls = controls.callCounts();
  // The faults really happened: failed calls, among them the server's own throttling of Associate.
  const failed = Object.values(calls).reduce((sum, c) => sum + c.failed, 0);
  expect(failed).toBeGreaterThan(0);
  expect(calls.AssociateEipAddress!.failed).toBeGreaterThan(0);
  // Every Allocate the cloud accepted either made one of the REPLICAS EIPs or replayed one (same ClientToken).
  expect(calls.AllocateEipAddress!.ok).toBeGreaterThanOrEqual(REPLICAS);
  expect(await metricValue(binder.registry, 'podeip_binder_reconciles_total', { result: 'error' })).toBeGreaterThan(0);
  expect(await metricValue(binder.registry, 'podeip_binder_eips_bound')).toBe(REPLICAS);

  await world.apps.deleteNamespacedDeployment({ namespace: NS, name: 'web', propagationPolicy: 'Foreground' });
  await waitFor('every PodEIP gone', () => storedPodEips(world, NS).length === 0, 30_000);
  await waitFor('every EIP released', () => eipsOfCluster(world).length === 0, 10_000);
  expect(webPods().filter((p) => conditionOf(p as never, 'Ready')?.status === 'True')).toEqual([]);
}, 90_000);
