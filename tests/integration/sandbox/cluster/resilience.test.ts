/**
 * The cluster when things go wrong or change under it: a webhook that denies pods (and one that mutates
 * them, as podeip's does), a watch that ends, owners deleted, orphans adopted, and stop() ending it all.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import {
  StatusError,
  type AdmissionAttributes,
  type ClusterStore,
  type KubeObject,
  type WatchEvent,
} from '../../../../sandbox/kube/types.js';
import {
  barePod,
  conditionOf,
  deployment,
  isReady,
  listPods,
  podIp,
  podTemplate,
  sleep,
  startTestApiCluster,
  startTestCluster,
  waitFor,
  type TestApiCluster,
  type TestCluster,
} from './support.js';

let t: TestCluster | undefined;
let api: TestApiCluster | undefined;

afterEach(async () => {
  await t?.close();
  await api?.close();
  t = undefined;
  api = undefined;
});

function denial(message: string): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Forbidden',
    code: 403,
  });
}

describe('pods created through admission', () => {
  it('are seen by webhooks as the replicaset-controller, carry what they inject, and block the rollout until the gate is True', async () => {
    api = await startTestApiCluster();
    const cluster = api;
    const creators: string[] = [];
    cluster.kube.setAdmission({
      async admit(attributes: AdmissionAttributes) {
        const object = attributes.object;
        if (attributes.type.plural !== 'pods' || attributes.operation !== 'CREATE' || object === undefined)
          return { object, warnings: [] };
        creators.push(attributes.userInfo.username);
        (object.spec as Record<string, unknown>).readinessGates = [{ conditionType: EIP_CONDITION_TYPE }];
        return { object, warnings: [] };
      },
    });
    await cluster.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('mutated', 2, podTemplate('mutated')) as never,
    });
    const pods = await waitFor('2 pods with their containers ready', () => {
      const found = listPods(cluster.kube.store, 'default', 'app=mutated');
      return found.length === 2 && found.every((pod) => conditionOf(pod, 'ContainersReady')?.status === 'True')
        ? found
        : undefined;
    });
    expect(creators).toEqual([
      'system:serviceaccount:kube-system:replicaset-controller',
      'system:serviceaccount:kube-system:replicaset-controller',
    ]);
    expect(pods.every((pod) => !isReady(pod))).toBe(true);
    const d = await cluster.apps.readNamespacedDeployment({ name: 'mutated', namespace: 'default' });
    expect(d.status?.availableReplicas ?? 0).toBe(0);
    expect(d.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
    });
  });

  it('reports a denied create as FailedCreate and ReplicaFailure, and recovers once admission allows it', async () => {
    api = await startTestApiCluster();
    const cluster = api;
    let deny = true;
    cluster.kube.setAdmission({
      async admit(attributes: AdmissionAttributes) {
        if (deny && attributes.type.plural === 'pods' && attributes.operation === 'CREATE')
          throw denial('admission webhook "pods.podeip.io" denied the request: no EIP left');
        return { object: attributes.object, warnings: [] };
      },
    });
    await cluster.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('denied', 1, podTemplate('denied')) as never,
    });
    const rs = await waitFor('ReplicaFailure', async () => {
      const sets = await cluster.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=denied' });
      return sets.items[0]?.status?.conditions?.find((c) => c.type === 'ReplicaFailure') !== undefined
        ? sets.items[0]
        : undefined;
    });
    expect(rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure')).toMatchObject({
      status: 'True',
      reason: 'FailedCreate',
      message: expect.stringContaining('no EIP left'),
    });
    const events = await cluster.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${rs.metadata!.name},reason=FailedCreate`,
    });
    expect(events.items[0]).toMatchObject({ type: 'Warning', source: { component: 'replicaset-controller' } });
    expect(events.items[0]?.message).toContain(
      'Error creating: admission webhook "pods.podeip.io" denied the request: no EIP left',
    );

    deny = false;
    await waitFor('a Ready pod', () => listPods(cluster.kube.store, 'default', 'app=denied').some(isReady), 5000);
    await waitFor('ReplicaFailure cleared', async () => {
      const sets = await cluster.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=denied' });
      return sets.items[0]?.status?.conditions === undefined;
    });
  });
});

describe('watches and owners', () => {
  it('starts a watch again when it ends with an error', async () => {
    const { createClusterStore } = await import('../../../../sandbox/kube/store.js');
    const { startClusterBehaviour } = await import('../../../../sandbox/kube/cluster/index.js');
    const store = createClusterStore();
    let ended = 0;
    const realWatch = store.watch.bind(store);
    // The first two pod watches (the scheduler's and the kubelet's) end at once with 410 Expired, as a compacted watch
    // does.
    const flaky: ClusterStore['watch'] = (type, options, onEvent) => {
      if (type.plural !== 'pods' || ended >= 2) return realWatch(type, options, onEvent);
      ended += 1;
      queueMicrotask(() =>
        onEvent({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'too old resource version',
            reason: 'Expired',
            code: 410,
          },
        } as WatchEvent),
      );
      return { stop: () => undefined };
    };
    store.watch = flaky;
    const cluster = startClusterBehaviour({ store, timing: { reconcileMs: 60_000, containerStartMs: 10 } });
    try {
      store.create(store.resourceType('', 'pods')!, barePod('survivor'));
      await waitFor('survivor Ready', () => {
        const pod = store.get(store.resourceType('', 'pods')!, 'default', 'survivor');
        return pod !== undefined && isReady(pod);
      });
      expect(ended).toBe(2);
    } finally {
      await cluster.stop();
      store.close();
    }
  });

  it('adopts an orphan pod its selector matches instead of creating another', async () => {
    t = await startTestCluster();
    const cluster = t;
    cluster.store.create(cluster.pods, barePod('stray', {}, { labels: { app: 'adopt' } }));
    cluster.store.create(cluster.store.resourceType('apps', 'replicasets')!, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'adopter', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'adopt' } }, template: podTemplate('adopt') },
    });
    const pods = await waitFor('2 Ready pods', () => {
      const found = listPods(cluster.store, 'default', 'app=adopt');
      return found.length === 2 && found.every(isReady) ? found : undefined;
    });
    const stray = pods.find((pod) => pod.metadata.name === 'stray')!;
    expect(stray.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ReplicaSet', name: 'adopter', controller: true, blockOwnerDeletion: true }),
    ]);
  });

  it("lets the garbage collector take a deleted Deployment's ReplicaSets and pods, and frees their IPs", async () => {
    t = await startTestCluster();
    const cluster = t;
    const deployments = cluster.store.resourceType('apps', 'deployments')!;
    cluster.store.create(deployments, deployment('doomed', 2, podTemplate('doomed')));
    const pods = await waitFor('2 Ready pods', () => {
      const found = listPods(cluster.store, 'default', 'app=doomed');
      return found.length === 2 && found.every(isReady) ? found : undefined;
    });
    const ips = pods.map((pod) => podIp(pod)!);
    cluster.store.delete(deployments, 'default', 'doomed');
    await waitFor('the pods gone', () => listPods(cluster.store, 'default', 'app=doomed').length === 0);
    expect(
      cluster.store.list(cluster.store.resourceType('apps', 'replicasets')!, {
        namespace: 'default',
        labelSelector: 'app=doomed',
      }).items,
    ).toHaveLength(0);
    await waitFor(
      'the IPs freed',
      () =>
        !cluster
          .cloud!.controls.networkInterfaces()
          .some((eni) => ips.some((ip) => eni.privateIpAddresses.includes(ip))),
    );
  });
});

describe('stop()', () => {
  it('ends every watch and timer: nothing acts on the store afterwards', async () => {
    t = await startTestCluster();
    const cluster = t;
    await cluster.cluster.stop();
    cluster.store.create(cluster.pods, barePod('after-stop'));
    await sleep(300);
    const pod = cluster.store.get(cluster.pods, 'default', 'after-stop') as KubeObject;
    expect((pod.spec as { nodeName?: string }).nodeName).toBeUndefined();
    expect((pod.status as { conditions?: unknown[] }).conditions).toBeUndefined();
  });
});
