/**
 * StatefulSets on the sandbox cluster: stable names, ordered creation that waits for each predecessor to
 * be Running and Ready, rolling updates from the highest ordinal down that keep the names, the partition,
 * Parallel pod management and scale-down from the top.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject, WatchEvent } from '../../../../sandbox/kube/types.js';
import {
  container,
  isReady,
  listPods,
  phaseOf,
  podTemplate,
  startTestCluster,
  statefulSet,
  waitFor,
  type TestCluster,
} from './support.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster();
});
afterAll(() => t.close());

function sets(): NonNullable<ReturnType<TestCluster['store']['resourceType']>> {
  return t.store.resourceType('apps', 'statefulsets')!;
}

/** Every pod event of the set, in order, with the pod's readiness at the time. */
function record(app: string): {
  events: Array<{ type: WatchEvent['type']; name: string; uid: string; ready: boolean; terminating: boolean }>;
  stop(): void;
} {
  const events: Array<{ type: WatchEvent['type']; name: string; uid: string; ready: boolean; terminating: boolean }> =
    [];
  const watch = t.store.watch(t.pods, { namespace: 'default', labelSelector: `app=${app}` }, (event) => {
    const pod = event.object as KubeObject;
    events.push({
      type: event.type,
      name: pod.metadata.name!,
      uid: pod.metadata.uid!,
      ready: isReady(pod),
      terminating: pod.metadata.deletionTimestamp !== undefined,
    });
  });
  return { events, stop: () => watch.stop() };
}

function allReady(
  app: string,
  count: number,
  check: (pod: KubeObject) => boolean = () => true,
): KubeObject[] | undefined {
  const pods = listPods(t.store, 'default', `app=${app}`);
  return pods.length === count &&
    pods.every((pod) => isReady(pod) && pod.metadata.deletionTimestamp === undefined && check(pod))
    ? pods
    : undefined;
}

function imageOf(pod: KubeObject): string {
  return String((pod.spec as { containers: Array<{ image: string }> }).containers[0]!.image);
}

/** A set of its own for each test: three Ready pods of `image`, status recorded, so no test leans on another. */
async function readySet(name: string, image: string): Promise<KubeObject> {
  t.store.create(sets(), statefulSet(name, 3, podTemplate(name, { containers: [container('app', { image })] })));
  await waitFor(`3 Ready ${name} pods`, () => allReady(name, 3, (pod) => imageOf(pod) === image));
  return waitFor(`${name}'s status`, () => {
    const current = t.store.get(sets(), 'default', name)!;
    const status = current.status as { readyReplicas?: number; currentRevision?: string };
    return status.readyReplicas === 3 && status.currentRevision !== undefined ? current : undefined;
  });
}

describe('OrderedReady', () => {
  it('creates web-0, web-1, web-2 in order, each once its predecessor is Running and Ready', async () => {
    const log = record('web');
    t.store.create(sets(), statefulSet('web', 3, podTemplate('web')));
    const pods = await waitFor('3 Ready web pods', () => allReady('web', 3));
    log.stop();
    expect(pods.map((pod) => pod.metadata.name).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    for (const pod of pods) {
      const ordinal = pod.metadata.name!.split('-')[1]!;
      expect(pod.metadata.labels).toMatchObject({
        'statefulset.kubernetes.io/pod-name': pod.metadata.name,
        'apps.kubernetes.io/pod-index': ordinal,
      });
      expect(pod.metadata.labels?.['controller-revision-hash']).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
      expect(pod.spec).toMatchObject({ hostname: pod.metadata.name, subdomain: 'web' });
      expect(phaseOf(pod)).toBe('Running');
    }
    for (const [previous, next] of [
      ['web-0', 'web-1'],
      ['web-1', 'web-2'],
    ] as const) {
      const created = log.events.findIndex((e) => e.type === 'ADDED' && e.name === next);
      const readyBefore = log.events.findIndex((e) => e.name === previous && e.ready);
      expect(readyBefore).toBeGreaterThanOrEqual(0);
      expect(created).toBeGreaterThan(readyBefore);
    }
    const set = await waitFor('status', () => {
      const current = t.store.get(sets(), 'default', 'web')!;
      return (current.status as { readyReplicas?: number }).readyReplicas === 3 ? current : undefined;
    });
    const status = set.status as Record<string, unknown>;
    expect(status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 1,
    });
    expect(status.currentRevision).toBe(status.updateRevision);
    expect(status.updateRevision).toBe(pods[0]!.metadata.labels!['controller-revision-hash']);
  });

  it('rolls an update from the highest ordinal down, one pod at a time, keeping the names', async () => {
    const before = await readySet('roll', 'nginx:1.27');
    const oldRevision = (before.status as { currentRevision: string }).currentRevision;
    const log = record('roll');
    (before.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [
      container('app', { image: 'nginx:1.28' }),
    ];
    t.store.update(sets(), before);
    const pods = await waitFor(
      '3 updated Ready pods',
      () => allReady('roll', 3, (pod) => imageOf(pod) === 'nginx:1.28'),
      8000,
    );
    log.stop();
    expect(pods.map((pod) => pod.metadata.name).sort()).toEqual(['roll-0', 'roll-1', 'roll-2']);
    const deletions = log.events
      .filter((e) => e.type === 'MODIFIED' && e.terminating)
      .map((e) => e.name)
      .filter((name, i, all) => all.indexOf(name) === i);
    expect(deletions).toEqual(['roll-2', 'roll-1', 'roll-0']);
    // roll-1 goes only after the new roll-2 is Ready.
    const newRoll2Ready = log.events.findIndex(
      (e) => e.name === 'roll-2' && e.type !== 'DELETED' && e.ready && !e.terminating,
    );
    const roll1Deleted = log.events.findIndex((e) => e.name === 'roll-1' && e.terminating);
    expect(newRoll2Ready).toBeGreaterThanOrEqual(0);
    expect(roll1Deleted).toBeGreaterThan(newRoll2Ready);
    const status = await waitFor('the update recorded', () => {
      const current = t.store.get(sets(), 'default', 'roll')!.status as Record<string, unknown>;
      return current.currentRevision === current.updateRevision && current.updatedReplicas === 3 ? current : undefined;
    });
    expect(status.currentRevision).not.toBe(oldRevision);
    expect(status).toMatchObject({ observedGeneration: 2, currentReplicas: 3, readyReplicas: 3 });
  });

  it('honours the partition: only ordinals at or above it are updated', async () => {
    const current = await readySet('part', 'nginx:1.28');
    const spec = current.spec as {
      updateStrategy: Record<string, unknown>;
      template: { spec: { containers: unknown[] } };
    };
    spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    spec.template.spec.containers = [container('app', { image: 'nginx:1.29' })];
    t.store.update(sets(), current);
    await waitFor('part-2 updated', () => {
      const pod = t.store.get(t.pods, 'default', 'part-2');
      return pod !== undefined && imageOf(pod) === 'nginx:1.29' && isReady(pod);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      listPods(t.store, 'default', 'app=part')
        .map((pod) => `${pod.metadata.name}:${imageOf(pod)}`)
        .sort(),
    ).toEqual(['part-0:nginx:1.28', 'part-1:nginx:1.28', 'part-2:nginx:1.29']);
    const status = await waitFor('the partial update recorded', () => {
      const current = t.store.get(sets(), 'default', 'part')!.status as Record<string, unknown>;
      return current.updatedReplicas === 1 ? current : undefined;
    });
    expect(status).toMatchObject({ updatedReplicas: 1, currentReplicas: 2 });
    expect(status.currentRevision).not.toBe(status.updateRevision);
  });

  it('scales down from the highest ordinal', async () => {
    const current = await readySet('down', 'nginx:1.27');
    (current.spec as { replicas: number }).replicas = 1;
    const log = record('down');
    t.store.update(sets(), current);
    await waitFor('one pod left', () => listPods(t.store, 'default', 'app=down').length === 1);
    log.stop();
    expect(listPods(t.store, 'default', 'app=down')[0]!.metadata.name).toBe('down-0');
    const gone = log.events.filter((e) => e.type === 'DELETED').map((e) => e.name);
    expect(gone).toEqual(['down-2', 'down-1']);
  });
});

describe('Parallel', () => {
  it('creates every pod without waiting for the others', async () => {
    const log = record('db');
    t.store.create(sets(), statefulSet('db', 3, podTemplate('db'), { podManagementPolicy: 'Parallel' }));
    await waitFor('3 Ready db pods', () => allReady('db', 3));
    log.stop();
    const lastCreated = Math.max(
      ...['db-0', 'db-1', 'db-2'].map((name) => log.events.findIndex((e) => e.type === 'ADDED' && e.name === name)),
    );
    const firstReady = log.events.findIndex((e) => e.ready);
    expect(lastCreated).toBeLessThan(firstReady);
  });
});
