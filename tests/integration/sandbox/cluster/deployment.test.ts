/**
 * Deployments on the sandbox cluster: pods scheduled, given Terway-style addresses the cloud holds, Ready;
 * rolling updates that wait for readiness (a readiness gate that never turns True holds them); Recreate.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../../../sandbox/kube/types.js';
import { $Ecs, ecsClient } from '../cloud/support.js';
import {
  conditionOf,
  container,
  deployment,
  isReady,
  listPods,
  phaseOf,
  podIp,
  podTemplate,
  startTestCluster,
  waitFor,
  type TestCluster,
} from './support.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster();
});
afterAll(() => t.close());

function deployments(): ReturnType<TestCluster['store']['resourceType']> & object {
  return t.store.resourceType('apps', 'deployments')!;
}

describe('a Deployment of 3', () => {
  // The tests below look at one Deployment from three sides, in any order: it is made here, not by one of them.
  beforeAll(() => {
    t.store.create(deployments(), deployment('web', 3, podTemplate('web')));
  });

  it("runs 3 Ready pods with distinct secondary IPs of the nodes' Secondary ENIs", async () => {
    const pods = await waitFor('3 Ready web pods', () => {
      const found = listPods(t.store, 'default', 'app=web');
      return found.length === 3 && found.every(isReady) ? found : undefined;
    });
    for (const pod of pods) {
      expect(phaseOf(pod)).toBe('Running');
      expect(conditionOf(pod, 'ContainersReady')?.status).toBe('True');
      expect(conditionOf(pod, 'Initialized')?.status).toBe('True');
      expect(conditionOf(pod, 'PodScheduled')?.status).toBe('True');
      expect(pod.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(pod.metadata.labels?.['pod-template-hash']).toBeDefined();
      expect(t.cluster.nodes()).toContain((pod.spec as { nodeName: string }).nodeName);
    }
    const ips = pods.map((pod) => podIp(pod)!);
    expect(new Set(ips).size).toBe(3);
    const enis = t.cloud!.controls.networkInterfaces();
    for (const ip of ips) {
      const holder = enis.find((eni) => eni.privateIpAddresses.includes(ip));
      expect(holder).toMatchObject({ type: 'Secondary', status: 'InUse' });
      expect(holder!.primaryIpAddress).not.toBe(ip);
    }
    // The binder's own lookup: DescribeNetworkInterfaces by secondary private IP, through the real ECS SDK.
    const ecs = ecsClient(t.cloud!);
    for (const pod of pods) {
      const found = await ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId: t.cloud!.regionId, privateIpAddress: [podIp(pod)!] }),
      );
      const eni = found.body?.networkInterfaceSets?.networkInterfaceSet ?? [];
      expect(eni).toHaveLength(1);
      expect(eni[0]?.type).toBe('Secondary');
      const node = t.store.get(
        t.store.resourceType('', 'nodes')!,
        undefined,
        (pod.spec as { nodeName: string }).nodeName,
      )!;
      expect(eni[0]?.instanceId).toBe(String((node.spec as { providerID: string }).providerID).split('.')[1]);
    }
  });

  it('reports the Deployment and its ReplicaSet in status, with revision 1', async () => {
    const d = await waitFor('web available', () => {
      const current = t.store.get(deployments(), 'default', 'web')!;
      const status = current.status as Record<string, unknown>;
      return status.availableReplicas === 3 && conditionOf(current, 'Progressing')?.reason === 'NewReplicaSetAvailable'
        ? current
        : undefined;
    });
    expect(d.status).toMatchObject({
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 0,
      observedGeneration: 1,
    });
    expect(conditionOf(d, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    const sets = t.store.list(t.store.resourceType('apps', 'replicasets')!, {
      namespace: 'default',
      labelSelector: 'app=web',
    }).items;
    expect(sets).toHaveLength(1);
    expect(sets[0]!.metadata.name).toBe(`web-${sets[0]!.metadata.labels!['pod-template-hash']}`);
    expect(sets[0]!.status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      fullyLabeledReplicas: 3,
      observedGeneration: 1,
    });
  });

  it('records Scheduled, Started, SuccessfulCreate and ScalingReplicaSet events', async () => {
    const expected = ['Scheduled', 'Pulled', 'Created', 'Started', 'SuccessfulCreate', 'ScalingReplicaSet'];
    // Only web's own: the other tests' Deployments share the namespace.
    const webEvents = () =>
      (
        t.store.list(t.store.resourceType('', 'events')!, { namespace: 'default' }).items as Array<
          KubeObject & { involvedObject?: { name?: string } } & Record<string, unknown>
        >
      ).filter((e) => e.involvedObject?.name?.startsWith('web-') === true || e.involvedObject?.name === 'web');
    const events = await waitFor('all of web’s events', () => {
      const found = webEvents();
      const reasons = new Set(found.map((e) => e.reason));
      return expected.every((reason) => reasons.has(reason)) ? found : undefined;
    });
    const scheduled = events.find((e) => e.reason === 'Scheduled')!;
    expect(scheduled).toMatchObject({
      type: 'Normal',
      count: 1,
      source: { component: 'default-scheduler' },
      involvedObject: { kind: 'Pod', namespace: 'default' },
    });
    expect(String(scheduled.message)).toMatch(/^Successfully assigned default\/web-.+ to sandbox-node-\d$/);
    expect(events.find((e) => e.reason === 'ScalingReplicaSet')?.message).toMatch(
      /^Scaled up replica set web-\S+ from 0 to 3$/,
    );
  });
});

describe('RollingUpdate', () => {
  it('waits for a new pod whose readiness gate stays False, and never goes below replicas - maxUnavailable', async () => {
    t.store.create(
      deployments(),
      deployment('api', 4, podTemplate('api'), {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 1 },
      }),
    );
    await waitFor('4 Ready api pods', () => listPods(t.store, 'default', 'app=api').filter(isReady).length === 4);

    let lowest = Number.POSITIVE_INFINITY;
    const sample = (): void => {
      const available = listPods(t.store, 'default', 'app=api').filter(
        (pod) => pod.metadata.deletionTimestamp === undefined && isReady(pod),
      ).length;
      lowest = Math.min(lowest, available);
    };
    const watch = t.store.watch(t.pods, { namespace: 'default', labelSelector: 'app=api' }, sample);

    const current = t.store.get(deployments(), 'default', 'api')!;
    const spec = current.spec as { template: { spec: Record<string, unknown> } };
    spec.template.spec.readinessGates = [{ conditionType: 'k8s.aliyun.com/eip' }];
    spec.template.spec.containers = [container('app', { image: 'nginx:1.28' })];
    t.store.update(deployments(), current);

    const isNew = (pod: KubeObject): boolean =>
      ((pod.spec as { readinessGates?: unknown[] }).readinessGates ?? []).length > 0;
    // maxSurge 1 + maxUnavailable 1: two new pods start, one old goes; then nothing until a new one is Ready.
    await waitFor('the surge', () => listPods(t.store, 'default', 'app=api').filter(isNew).length === 2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stuck = listPods(t.store, 'default', 'app=api');
    expect(stuck.filter(isNew)).toHaveLength(2);
    expect(
      stuck.filter(isNew).every((pod) => conditionOf(pod, 'ContainersReady')?.status === 'True' && !isReady(pod)),
    ).toBe(true);
    expect(stuck.filter((pod) => !isNew(pod) && pod.metadata.deletionTimestamp === undefined)).toHaveLength(3);
    const d = t.store.get(deployments(), 'default', 'api')!;
    expect(d.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 3 });
    expect(conditionOf(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });

    // Play the binder: the gate turns True pod by pod, and the rollout moves on.
    const gated = new Set<string>();
    const done = await waitFor(
      'the rollout to finish',
      () => {
        for (const pod of listPods(t.store, 'default', 'app=api').filter(isNew)) {
          if (gated.has(pod.metadata.uid!) || pod.metadata.deletionTimestamp !== undefined) continue;
          gated.add(pod.metadata.uid!);
          setGate(pod);
        }
        const pods = listPods(t.store, 'default', 'app=api');
        return pods.length === 4 && pods.every((pod) => isNew(pod) && isReady(pod)) ? pods : undefined;
      },
      8000,
    );
    watch.stop();
    expect(done).toHaveLength(4);
    expect(lowest).toBeGreaterThanOrEqual(3);
    const final = await waitFor('api complete', () => {
      const object = t.store.get(deployments(), 'default', 'api')!;
      return conditionOf(object, 'Progressing')?.reason === 'NewReplicaSetAvailable' ? object : undefined;
    });
    expect(final.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    const sets = t.store.list(t.store.resourceType('apps', 'replicasets')!, {
      namespace: 'default',
      labelSelector: 'app=api',
    }).items;
    expect(sets.map((rs) => (rs.spec as { replicas: number }).replicas).sort()).toEqual([0, 4]);
  });
});

describe('Recreate', () => {
  it('stops every old pod and waits until they are gone before the new ReplicaSet starts', async () => {
    t.store.create(deployments(), deployment('batch', 2, podTemplate('batch'), { type: 'Recreate' }));
    const before = await waitFor('2 Ready batch pods', () => {
      const pods = listPods(t.store, 'default', 'app=batch');
      return pods.length === 2 && pods.every(isReady) ? pods : undefined;
    });
    const oldUids = new Set(before.map((pod) => pod.metadata.uid));
    const seen: Array<{ type: string; old: boolean; name: string }> = [];
    const watch = t.store.watch(t.pods, { namespace: 'default', labelSelector: 'app=batch' }, (event) => {
      const pod = event.object as KubeObject;
      seen.push({ type: event.type, old: oldUids.has(pod.metadata.uid), name: pod.metadata.name! });
    });
    const current = t.store.get(deployments(), 'default', 'batch')!;
    (current.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [
      container('app', { image: 'nginx:1.28' }),
    ];
    t.store.update(deployments(), current);
    const after = await waitFor('2 new Ready batch pods', () => {
      const pods = listPods(t.store, 'default', 'app=batch');
      return pods.length === 2 && pods.every((pod) => !oldUids.has(pod.metadata.uid) && isReady(pod))
        ? pods
        : undefined;
    });
    watch.stop();
    expect(after).toHaveLength(2);
    const firstNew = seen.findIndex((e) => !e.old && e.type === 'ADDED');
    const lastOldGone = seen
      .map((e, i) => (e.old && e.type === 'DELETED' ? i : -1))
      .reduce((a, b) => Math.max(a, b), -1);
    expect(lastOldGone).toBeGreaterThanOrEqual(0);
    expect(firstNew).toBeGreaterThan(lastOldGone);
  });
});

function setGate(pod: KubeObject): void {
  const latest = t.store.get(t.pods, 'default', pod.metadata.name!);
  if (latest === undefined) return;
  const status = latest.status as { conditions?: Array<Record<string, unknown>> };
  status.conditions = [
    ...(status.conditions ?? []).filter((c) => c.type !== 'k8s.aliyun.com/eip'),
    {
      type: 'k8s.aliyun.com/eip',
      status: 'True',
      reason: 'Associate eip succeed',
      lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  ];
  t.store.update(t.pods, latest, { subresource: 'status' });
}
