/**
 * A static EIP in a rolling update: under the default maxSurge/maxUnavailable the new pod waits for the EIP
 * the old one holds, and the old one is only removed once the new one is Ready. podeip hands the EIP to the
 * newer pod of the same workload, so the rollout completes with the EIP on the new pod; it never flaps back,
 * and a pod of another workload never takes it this way. Printed: how long the EIP was bound to nothing,
 * and the rollout's total time, beside the same Deployment with Recreate.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import { STRATEGIC_MERGE_PATCH } from '../../../../api/kube/api-clients.js';
import type { KubeObject } from '../../../../sandbox/kube/types.js';
import {
  GATE,
  conditionOf,
  podBody,
  podIpOf,
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
  world = await startWorld();
  binder = await startSyncedBinder(world);
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

function podsOf(app: string): KubeObject[] {
  const type = world.sandbox.kube.store.resourceType('', 'pods')!;
  return world.sandbox.kube.store
    .list(type, { namespace: NS })
    .items.filter((pod) => pod.metadata.labels?.app === app) as KubeObject[];
}

const ready = (pod: KubeObject | undefined): boolean =>
  conditionOf(pod, 'Ready')?.status === 'True' && conditionOf(pod, EIP_CONDITION_TYPE)?.status === 'True';

async function deploy(
  app: string,
  allocationId: string,
  strategy: 'RollingUpdate' | 'Recreate',
  extra: Record<string, string> = {},
): Promise<void> {
  const labels = { app };
  await world.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: app },
      spec: {
        replicas: 1,
        strategy: { type: strategy },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'k8s.aliyun.com/pod-eip-instanceid': allocationId, ...extra } },
          // As the webhook injects it: the new pod is not Ready, and the rollout waits, until its EIP is bound.
          spec: { readinessGates: GATE, containers: [{ name: 'gw', image: 'nginx:1.27' }] },
        },
      },
    },
  });
  await waitFor(`${app} Ready with its EIP`, () => podsOf(app).length === 1 && ready(podsOf(app)[0]), 30_000);
}

interface Rollout {
  totalMs: number;
  unboundMs: number;
  holders: string[];
}

/** Changes the pod template and samples the EIP's binding until the rollout is over. */
async function rollOut(app: string, allocationId: string): Promise<Rollout> {
  const controls = world.sandbox.cloud.controls;
  const oldPod = podsOf(app)[0]!.metadata.name!;
  const holders: string[] = [];
  let unboundMs = 0;
  let last = Date.now();
  const started = last;
  const sample = setInterval(() => {
    const now = Date.now();
    const eip = controls.eips().find((e) => e.allocationId === allocationId)!;
    const holder =
      eip.status === 'InUse'
        ? podsOf(app).find((pod) => podIpOf(pod) === eip.privateIpAddress)?.metadata.name
        : undefined;
    if (holder === undefined) unboundMs += now - last;
    else if (holders[holders.length - 1] !== holder) holders.push(holder);
    last = now;
  }, 5);
  try {
    await world.apps.patchNamespacedDeployment(
      { namespace: NS, name: app, body: { spec: { template: { metadata: { annotations: { revision: '2' } } } } } },
      STRATEGIC_MERGE_PATCH,
    );
    await waitFor(
      `${app} rolled out`,
      () => {
        const pods = podsOf(app);
        return pods.length === 1 && pods[0]!.metadata.name !== oldPod && ready(pods[0]);
      },
      60_000,
    );
  } finally {
    clearInterval(sample);
  }
  return { totalMs: Date.now() - started, unboundMs, holders };
}

describe('a static EIP in a rolling update', () => {
  it('is handed to the new pod: the rollout completes, the EIP never flaps back; Recreate for comparison', async () => {
    const controls = world.sandbox.cloud.controls;
    controls.createEip({ allocationId: 'eip-handover1' });
    controls.createEip({ allocationId: 'eip-recreate1' });
    await deploy('gw-rolling', 'eip-handover1', 'RollingUpdate');
    await deploy('gw-recreate', 'eip-recreate1', 'Recreate');
    const oldPod = podsOf('gw-rolling')[0]!.metadata.name!;

    const rolling = await rollOut('gw-rolling', 'eip-handover1');
    const recreate = await rollOut('gw-recreate', 'eip-recreate1');
    process.stdout.write(
      `static EIP rollout, 1 replica: RollingUpdate (handover) ${rolling.totalMs} ms in all, EIP bound to nothing ` +
        `${rolling.unboundMs} ms; Recreate ${recreate.totalMs} ms in all, EIP bound to nothing ${recreate.unboundMs} ms\n`,
    );
    // Old pod, then new pod, and never the old one again.
    expect(rolling.holders).toEqual([oldPod, podsOf('gw-rolling')[0]!.metadata.name]);
    const newPod = podsOf('gw-rolling')[0]!;
    expect(controls.eips().find((e) => e.allocationId === 'eip-handover1')).toMatchObject({
      status: 'InUse',
      privateIpAddress: podIpOf(newPod),
    });
  }, 120_000);

  it('is not taken over by a pod that opts out: the new pod waits, as on ACK', async () => {
    world.sandbox.cloud.controls.createEip({ allocationId: 'eip-optout1' });
    await deploy('gw-optout', 'eip-optout1', 'RollingUpdate', { 'podeip.io/eip-handover': 'disabled' });
    const oldPod = podsOf('gw-optout')[0]!.metadata.name!;
    await world.apps.patchNamespacedDeployment(
      {
        namespace: NS,
        name: 'gw-optout',
        body: { spec: { template: { metadata: { annotations: { revision: '2' } } } } },
      },
      STRATEGIC_MERGE_PATCH,
    );
    const waiting = await waitFor('the new pod waiting', () => {
      const fresh = podsOf('gw-optout').find((pod) => pod.metadata.name !== oldPod);
      const c = conditionOf(fresh, EIP_CONDITION_TYPE);
      return c?.reason === 'EipInUseByAnotherPod' ? c : undefined;
    });
    expect(String(waiting.message)).toContain(oldPod);
    // The rollout waits on the new pod, which waits on the old one's EIP: ACK's stall, chosen per pod.
    const old = storedPod(world, NS, oldPod);
    expect(old?.metadata.deletionTimestamp).toBeUndefined();
    expect(ready(old)).toBe(true);
  });

  it('goes to the newer revision even when an older revision recreates its pod later (an eviction mid-rollout)', async () => {
    const app = 'gw-evicted';
    world.sandbox.cloud.controls.createEip({ allocationId: 'eip-evicted1' });
    await deploy(app, 'eip-evicted1', 'RollingUpdate');
    const first = podsOf(app)[0]!;
    // The binder is down while the rollout starts: the new revision's pod exists and waits, the old one keeps
    // serving, and the Deployment keeps both (one may be unavailable at most: none).
    await binder.stop();
    await world.apps.patchNamespacedDeployment(
      { namespace: NS, name: app, body: { spec: { template: { metadata: { annotations: { revision: '2' } } } } } },
      STRATEGIC_MERGE_PATCH,
    );
    const second = await waitFor('the new revision pod', () =>
      podsOf(app).find((pod) => pod.metadata.name !== first.metadata.name),
    );
    // Its creation time has second grain: wait for a later second, so that the old revision's next pod is
    // plainly the later created and only the revision can put it behind.
    const createdAt = String(second.metadata.creationTimestamp);
    await waitFor('a later second', () => new Date().toISOString().slice(0, 19) > createdAt.slice(0, 19), 5_000);
    // The old pod is evicted; its ReplicaSet, still at one replica, replaces it.
    await world.core.deleteNamespacedPod({ namespace: NS, name: first.metadata.name!, gracePeriodSeconds: 0 });
    const replacement = await waitFor('the old revision replacing its pod', () =>
      podsOf(app).find((pod) => ![first.metadata.name, second.metadata.name].includes(pod.metadata.name)),
    );
    expect(replacement.metadata.labels?.['pod-template-hash']).toBe(first.metadata.labels?.['pod-template-hash']);
    expect(String(replacement.metadata.creationTimestamp) > createdAt).toBe(true);

    binder = await startSyncedBinder(world);
    // The new revision takes the EIP, turns Ready, and the rollout removes the old revision's pod.
    await waitFor(
      `${app} rolled out to its new revision`,
      () => {
        const pods = podsOf(app);
        return pods.length === 1 && pods[0]!.metadata.name === second.metadata.name && ready(pods[0]);
      },
      60_000,
    );
    expect(world.sandbox.cloud.controls.eips().find((e) => e.allocationId === 'eip-evicted1')).toMatchObject({
      status: 'InUse',
      privateIpAddress: podIpOf(storedPod(world, NS, second.metadata.name!)),
    });
  }, 120_000);

  it('is never taken this way by a pod of another workload', async () => {
    const holder = podsOf('gw-rolling')[0]!;
    await world.core.createNamespacedPod({
      namespace: NS,
      body: podBody('intruder', { 'k8s.aliyun.com/pod-eip-instanceid': 'eip-handover1' }),
    });
    const condition = await waitFor('the intruder refused', () => {
      const c = conditionOf(storedPod(world, NS, 'intruder'), EIP_CONDITION_TYPE);
      return c?.status === 'False' && c.reason === 'EipInUseByAnotherPod' ? c : undefined;
    });
    expect(String(condition.message)).toContain(`bound to the pod ${NS}/${holder.metadata.name}`);
    expect(ready(storedPod(world, NS, holder.metadata.name!))).toBe(true);
  });
});
