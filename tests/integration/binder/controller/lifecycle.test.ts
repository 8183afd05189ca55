/**
 * The release lifecycle where it meets the network as it is on Alibaba Cloud: Terway keeps a freed IP on
 * its ENI and gives it to the node's next pod. A pod whose EIP is kept after it goes (Never, TTL) must not
 * leave that EIP on its old IP, or the next pod there sends and receives through another workload's public
 * address; the next pod of the same name gets the kept EIP associated again. And Never or TTL asked for by
 * pods whose controller makes up new names (a Deployment's) would keep every replaced pod's EIP: there it
 * is Follow.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  conditionOf,
  deletePod,
  eipsOfCluster,
  metricValue,
  podEvents,
  startTestBinder,
  podBody,
  podIpOf,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  storedPodEips,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
const AUTO = { 'k8s.aliyun.com/pod-with-eip': 'true' };
const PODEIPS = { group: 'alibabacloud.com', version: 'v1beta1', namespace: NS, plural: 'podeips' };
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

describe('Never on the pods of a Deployment', () => {
  it('is Follow, said so on each pod, so replacing pods and deleting the Deployment leaves no EIP behind', async () => {
    const labels = { app: 'never-web' };
    await world.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'never-web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: NEVER },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    const podsOf = (): string[] =>
      storedPodEips(world, NS)
        .map((p) => p.metadata.name!)
        .filter((name) => name.startsWith('never-web-'));
    const bound = await waitFor('two pods of never-web bound', () => {
      const names = podsOf();
      return names.length === 2 &&
        names.every((name) => conditionOf(storedPod(world, NS, name), EIP_CONDITION_TYPE)?.status === 'True')
        ? names
        : undefined;
    });
    for (const name of bound) {
      const spec = storedPodEip(world, NS, name)!.spec as { allocationType: { releaseStrategy: string } };
      expect(spec.allocationType.releaseStrategy).toBe('Follow');
      const warning = (await podEvents(world, NS, name)).find((e) => e.reason === 'ReleaseStrategyFallback');
      expect(warning?.message).toMatch(/^release strategy Never falls back to Follow for a pod of a ReplicaSet/);
    }
    // Said where the Deployment's author looks too: on the pods' ReplicaSet, once however many pods.
    const replicaSet = (storedPod(world, NS, bound[0]!)!.metadata.ownerReferences as { name: string }[])[0]!.name;
    const onReplicaSet = (await world.core.listNamespacedEvent({ namespace: NS })).items.filter(
      (e) => e.involvedObject.kind === 'ReplicaSet' && e.involvedObject.name === replicaSet,
    );
    expect(onReplicaSet.filter((e) => e.reason === 'ReleaseStrategyFallback')).toHaveLength(1);

    // A replaced pod's EIP goes with it; then the Deployment's deletion takes the rest.
    await deletePod(world, NS, bound[0]!);
    await waitFor('the replacement bound', () => {
      const names = podsOf();
      return names.length === 2 && !names.includes(bound[0]!) ? true : undefined;
    });
    await world.apps.deleteNamespacedDeployment({ namespace: NS, name: 'never-web', propagationPolicy: 'Foreground' });
    await waitFor('no PodEIP of never-web left', () => podsOf().length === 0);
    await waitFor('no EIP of never-web left in the cloud', () =>
      eipsOfCluster(world).every(
        (eip) => !eip.tags.some((t) => t.key === 'podeip.io/pod-name' && t.value.startsWith('never-web-')),
      ),
    );
  });
});

describe('a PrePaid EIP whose pod is deleted', () => {
  it('is unbound and left to its term: no release is ever tried, the PodEIP goes, and an Event says why', async () => {
    const controls = world.sandbox.cloud.controls;
    const prepaid = {
      'k8s.aliyun.com/pod-with-eip': 'true',
      'k8s.aliyun.com/eip-instance-charge-type': 'PrePaid',
      'k8s.aliyun.com/eip-internet-charge-type': 'PayByBandwidth',
    };
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('subscriber', prepaid) });
    await readyWithEip('subscriber');
    const record = storedPodEip(world, NS, 'subscriber')!;
    const allocationId = String((record.spec as { allocationID: string }).allocationID);
    const releasesBefore = controls.callCounts().ReleaseEipAddress ?? { ok: 0, failed: 0 };

    await deletePod(world, NS, 'subscriber');
    await waitFor('the PodEIP of subscriber gone', () => storedPodEip(world, NS, 'subscriber') === undefined);
    expect(controls.eips().find((e) => e.allocationId === allocationId)).toMatchObject({
      instanceChargeType: 'PrePaid',
      status: 'Available',
      privateIpAddress: '',
    });
    expect(controls.callCounts().ReleaseEipAddress ?? { ok: 0, failed: 0 }).toEqual(releasesBefore);
    const events = await world.core.listNamespacedEvent({ namespace: NS });
    const kept = events.items.find((e) => e.involvedObject.kind === 'PodEIP' && e.involvedObject.name === 'subscriber');
    expect(kept).toMatchObject({ type: 'Warning', reason: 'PrepaidEipKept' });
    expect(kept?.message).toContain(`the EIP ${allocationId}`);
  });
});

describe('an EIP no PodEIP names any more (its finalizer removed by hand, the pod force-deleted)', () => {
  it('is released by the garbage collection after its grace period; nothing without our tags is touched', async () => {
    const controls = world.sandbox.cloud.controls;
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('forgotten', AUTO) });
    await readyWithEip('forgotten');
    const allocationId = String((storedPodEip(world, NS, 'forgotten')!.spec as { allocationID: string }).allocationID);
    const untagged = controls.createEip({ name: 'somebody else’s' });

    // With the binder down, someone clears the way as a force-deleted namespace would.
    await binder.stop();
    const customObjects = world.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    await customObjects.patchNamespacedCustomObject({
      ...PODEIPS,
      name: 'forgotten',
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    await customObjects.deleteNamespacedCustomObject({
      ...PODEIPS,
      name: 'forgotten',
    });
    await world.core.deleteNamespacedPod({ namespace: NS, name: 'forgotten', gracePeriodSeconds: 0 });
    await waitFor(
      'pod and PodEIP gone',
      () => !storedPod(world, NS, 'forgotten') && !storedPodEip(world, NS, 'forgotten'),
    );
    expect(controls.eips().find((e) => e.allocationId === allocationId)).toBeDefined();

    binder = await startTestBinder(world, { config: { gc: { periodSeconds: 1, orphanGraceSeconds: 1 } } });
    await waitFor('the orphan released', () => !controls.eips().some((e) => e.allocationId === allocationId), 30_000);
    expect(controls.eips().find((e) => e.allocationId === untagged.allocationId)).toMatchObject({
      status: 'Available',
    });
    expect(await metricValue(binder.registry, 'podeip_binder_gc_actions_total', { action: 'released' })).toBe(1);
  });
});

describe('a bound EIP someone unbinds behind podeip’s back', () => {
  it('takes the pod out of service with a reason and an Event within a verification period, then binds it again', async () => {
    await binder.stop();
    binder = await startTestBinder(world, { config: { verifySeconds: 5 } });
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('drifter', AUTO) });
    await readyWithEip('drifter');
    const allocationId = String((storedPodEip(world, NS, 'drifter')!.spec as { allocationID: string }).allocationID);
    const ip = podIpOf(storedPod(world, NS, 'drifter'))!;

    world.sandbox.cloud.controls.unbindEip(allocationId);
    const condition = await waitFor(
      'drifter taken out of service',
      () => {
        const c = conditionOf(storedPod(world, NS, 'drifter'), EIP_CONDITION_TYPE);
        return c?.status === 'False' ? c : undefined;
      },
      30_000,
    );
    expect(condition).toMatchObject({ reason: 'EipUnbound' });
    expect(String(condition.message)).toContain(`the EIP ${allocationId}`);
    expect((await podEvents(world, NS, 'drifter')).some((e) => e.reason === 'EipUnbound')).toBe(true);

    await readyWithEip('drifter');
    const eip = world.sandbox.cloud.controls.eips().find((e) => e.allocationId === allocationId);
    expect(eip).toMatchObject({ status: 'InUse', privateIpAddress: ip });
  });
});

describe("a pod whose PodEIP another controller wrote (ACK's or Terway's EIP feature)", () => {
  it('is left to that controller with a Warning: podeip allocates, binds and releases nothing for it', async () => {
    const controls = world.sandbox.cloud.controls;
    const theirs = controls.createEip({ name: 'bound by ACK' });
    const customObjects = world.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    await customObjects.createNamespacedCustomObject({
      ...PODEIPS,
      body: {
        apiVersion: 'alibabacloud.com/v1beta1',
        kind: 'PodEIP',
        metadata: { name: 'ack-managed' },
        spec: { allocationID: theirs.allocationId, allocationType: { type: 'Auto', releaseStrategy: 'Follow' } },
      },
    });
    const before = eipsOfCluster(world).length;
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('ack-managed', AUTO) });
    await waitFor('the Warning on ack-managed', async () =>
      (await podEvents(world, NS, 'ack-managed')).some((e) => e.reason === 'PodEipOwnedElsewhere'),
    );
    await deletePod(world, NS, 'ack-managed');
    await waitFor('ack-managed gone', () => storedPod(world, NS, 'ack-managed') === undefined);
    expect(eipsOfCluster(world)).toHaveLength(before);
    expect(controls.eips().find((e) => e.allocationId === theirs.allocationId)).toMatchObject({ status: 'Available' });
    expect(storedPodEip(world, NS, 'ack-managed')).toBeDefined();
  });
});
