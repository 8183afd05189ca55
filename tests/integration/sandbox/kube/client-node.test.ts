/**
 * @kubernetes/client-node 1.4 against the stand-in: typed CRUD, the strategic-merge status patch a
 * readiness-gate controller sends, optimistic concurrency, an informer through dropped connections and
 * a 410 relist, Leases with MicroTime, and custom resources through CustomObjectsApi.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { eventually, podManifest, REPO_ROOT, startHarness, type Harness } from './harness.js';

let h: Harness;
let core: k8s.CoreV1Api;
beforeAll(async () => {
  h = await startHarness();
  core = h.kubeConfig().makeApiClient(k8s.CoreV1Api);
});
afterAll(async () => {
  await h.close();
});

function statusOf(error: unknown): {
  code: number;
  status: { reason: string; message: string; details?: Record<string, unknown> };
} {
  const apiError = error as k8s.ApiException<string>;
  return { code: apiError.code, status: JSON.parse(apiError.body) };
}

const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('CoreV1Api', () => {
  it('creates, reads, lists by label, replaces and deletes pods', async () => {
    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: podManifest('crud', { labels: { app: 'crud' } }) as k8s.V1Pod,
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Pending');
    const read = await core.readNamespacedPod({ name: 'crud', namespace: 'default' });
    expect(read.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=crud' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['crud']);
    read.metadata!.labels = { ...read.metadata!.labels, replaced: 'yes' };
    const replaced = await core.replaceNamespacedPod({ name: 'crud', namespace: 'default', body: read });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    const deleted = await core.deleteNamespacedPod({ name: 'crud', namespace: 'default' });
    expect(deleted.metadata?.name).toBe('crud');
    await expect(core.readNamespacedPod({ name: 'crud', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
  });

  it('strategic-merges one condition into pods/status and keeps the others', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: podManifest('gated', { readinessGates: ['k8s.aliyun.com/eip'] }) as k8s.V1Pod,
    });
    const now = new Date();
    await core.patchNamespacedPodStatus(
      {
        name: 'gated',
        namespace: 'default',
        body: {
          status: {
            conditions: [
              { type: 'Ready', status: 'False', lastTransitionTime: now },
              { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            ],
          },
        },
      },
      smp,
    );
    const patched = await core.patchNamespacedPodStatus(
      {
        name: 'gated',
        namespace: 'default',
        body: {
          status: {
            conditions: [{ type: 'k8s.aliyun.com/eip', status: 'True', reason: 'Bound', lastTransitionTime: now }],
          },
        },
      },
      smp,
    );
    expect(patched.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=False',
      'ContainersReady=True',
      'k8s.aliyun.com/eip=True',
    ]);
    // The status subresource ignores spec, and the main resource ignores status.
    const again = await core.patchNamespacedPodStatus(
      {
        name: 'gated',
        namespace: 'default',
        body: {
          spec: { activeDeadlineSeconds: 5 },
          status: { conditions: [{ type: 'k8s.aliyun.com/eip', status: 'False' }] },
        },
      },
      smp,
    );
    expect(again.spec?.activeDeadlineSeconds).toBeUndefined();
    expect(again.status?.conditions?.find((c) => c.type === 'k8s.aliyun.com/eip')?.status).toBe('False');
    const main = await core.patchNamespacedPod(
      { name: 'gated', namespace: 'default', body: { status: { phase: 'Running' } } },
      mergePatch,
    );
    expect(main.status?.phase).toBe('Pending');
  });

  it('answers a stale update with the exact 409 Conflict, and a stale patch precondition too', async () => {
    const first = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'cm' }, data: { a: '1' } },
    });
    await core.replaceNamespacedConfigMap({ name: 'cm', namespace: 'default', body: { ...first, data: { a: '2' } } });
    const stale = await core
      .replaceNamespacedConfigMap({ name: 'cm', namespace: 'default', body: { ...first, data: { a: '3' } } })
      .catch((e: unknown) => e);
    expect(statusOf(stale)).toEqual({
      code: 409,
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'cm', kind: 'configmaps' },
        code: 409,
      },
    });
    const patch = await core
      .patchNamespacedConfigMap(
        {
          name: 'cm',
          namespace: 'default',
          body: { metadata: { resourceVersion: first.metadata!.resourceVersion }, data: { a: '4' } },
        },
        mergePatch,
      )
      .catch((e: unknown) => e);
    expect(statusOf(patch).status.reason).toBe('Conflict');
  });

  it('applies JSON patches by default and answers a failing one with 422', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: podManifest('jp') as k8s.V1Pod });
    const added = await core.patchNamespacedPod({
      name: 'jp',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }],
    });
    expect(added.metadata?.labels).toEqual({ a: 'b' });
    const failing = await core
      .patchNamespacedPod({
        name: 'jp',
        namespace: 'default',
        body: [{ op: 'add', path: '/spec/readinessGates/-', value: { conditionType: 'x.io/y' } }],
      })
      .catch((e: unknown) => e);
    expect(statusOf(failing).code).toBe(422);
    expect(statusOf(failing).status.details).toEqual({
      causes: [
        {
          reason: 'UnexpectedServerResponse',
          message: 'add operation does not apply: doc is missing path: "/spec/readinessGates/-": missing value',
        },
      ],
    });
  });

  it('does not store a dryRun=All create', async () => {
    const dry = await core.createNamespacedPod({
      namespace: 'default',
      body: podManifest('dry') as k8s.V1Pod,
      dryRun: 'All',
    });
    expect(dry.metadata?.name).toBe('dry');
    await expect(core.readNamespacedPod({ name: 'dry', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
  });
});

describe('informer', () => {
  it('sees add, update and delete; survives a dropped connection when restarted; relists after a 410', async () => {
    const kc = h.kubeConfig();
    const informer = k8s.makeInformer(
      kc,
      '/api/v1/namespaces/default/pods',
      () => core.listNamespacedPod({ namespace: 'default', labelSelector: 'informed=yes' }),
      'informed=yes',
    );
    const seen: string[] = [];
    informer.on('add', (pod) => seen.push(`add ${pod.metadata?.name}`));
    informer.on('update', (pod) => seen.push(`update ${pod.metadata?.name}`));
    informer.on('delete', (pod) => seen.push(`delete ${pod.metadata?.name}`));
    let errors = 0;
    let stopping = false;
    // client-node 1.x stops on any watch error; the caller restarts it (and must not after stop()).
    informer.on('error', () => {
      errors++;
      if (!stopping) setTimeout(() => void informer.start(), 50);
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: podManifest('inf-1', { labels: { informed: 'yes' } }) as k8s.V1Pod,
    });
    await informer.start();
    try {
      await eventually(() => (seen.includes('add inf-1') ? true : undefined));
      await core.patchNamespacedPod(
        { name: 'inf-1', namespace: 'default', body: { metadata: { annotations: { touched: 'yes' } } } },
        mergePatch,
      );
      await eventually(() => (seen.includes('update inf-1') ? true : undefined));

      expect(h.sandbox.controls.dropWatches()).toBe(1);
      await eventually(() => (errors >= 1 ? true : undefined));
      await eventually(() => (h.sandbox.controls.openWatchCount() === 1 ? true : undefined));
      await core.createNamespacedPod({
        namespace: 'default',
        body: podManifest('inf-2', { labels: { informed: 'yes' } }) as k8s.V1Pod,
      });
      await eventually(() => (seen.includes('add inf-2') ? true : undefined));

      // Disconnected while history is compacted: the resumed watch gets ERROR 410 and the informer relists.
      h.sandbox.controls.setWatchHistory(0);
      const watchesBefore = h.sandbox.controls.requestCount({ path: '/api/v1/namespaces/default/pods', method: 'GET' });
      h.sandbox.controls.dropWatches();
      await eventually(() => (errors >= 2 ? true : undefined));
      await core.deleteNamespacedPod({ name: 'inf-1', namespace: 'default' });
      await core.createNamespacedPod({
        namespace: 'default',
        body: podManifest('inf-3', { labels: { informed: 'yes' } }) as k8s.V1Pod,
      });
      await eventually(() => (seen.includes('add inf-3') && seen.includes('delete inf-1') ? true : undefined));
      const log = await eventually(() => {
        const entries = h.sandbox.controls
          .requestLog({ path: '/api/v1/namespaces/default/pods', method: 'GET' })
          .slice(watchesBefore);
        return entries.length >= 3 ? entries : undefined;
      });
      // resumed watch (410), relist, new watch
      expect(log.map((e) => (e.watch ? 'watch' : 'list'))).toEqual(['watch', 'list', 'watch']);
      expect(
        informer
          .list('default')
          .map((p) => p.metadata?.name)
          .sort(),
      ).toEqual(['inf-2', 'inf-3']);
    } finally {
      stopping = true;
      h.sandbox.controls.setWatchHistory(1000);
      await informer.stop();
    }
  });
});

describe('Watch', () => {
  it('delivers typed events and a clean close to the done callback', async () => {
    const events: string[] = [];
    let done: unknown = 'pending';
    const watch = new k8s.Watch(h.kubeConfig());
    const controller = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { timeoutSeconds: 1 },
      (type, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name}`),
      (err) => {
        done = err;
      },
    );
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' } } });
    await eventually(() => (done !== 'pending' ? true : undefined), 3000);
    controller.abort();
    expect(done).toBeNull();
    expect(events).toContain('ADDED watched');
    expect(events).toContain('ADDED kube-root-ca.crt');
  });
});

describe('CoordinationV1Api leases', () => {
  it('takes a lease with V1MicroTime, renews it under optimistic concurrency, and rejects a millisecond Date', async () => {
    const coordination = h.kubeConfig().makeApiClient(k8s.CoordinationV1Api);
    const now = new k8s.V1MicroTime();
    const lease = await coordination.createNamespacedLease({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'podeip-binder' },
        spec: {
          holderIdentity: 'binder-0',
          leaseDurationSeconds: 15,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      },
    });
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    const renewed = await coordination.replaceNamespacedLease({
      name: 'podeip-binder',
      namespace: 'kube-system',
      body: { ...lease, spec: { ...lease.spec, renewTime: new k8s.V1MicroTime() } },
    });
    expect(renewed.metadata?.resourceVersion).not.toBe(lease.metadata?.resourceVersion);
    const lost = await coordination
      .replaceNamespacedLease({
        name: 'podeip-binder',
        namespace: 'kube-system',
        body: { ...lease, spec: { ...lease.spec, holderIdentity: 'binder-1' } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(lost).status.reason).toBe('Conflict');
    const taken = await coordination
      .createNamespacedLease({
        namespace: 'kube-system',
        body: { metadata: { name: 'podeip-binder' }, spec: { holderIdentity: 'binder-1' } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(taken).status.message).toBe('leases.coordination.k8s.io "podeip-binder" already exists');
    const millis = await coordination
      .createNamespacedLease({
        namespace: 'kube-system',
        body: {
          metadata: { name: 'millis' },
          spec: { holderIdentity: 'x', renewTime: new Date('2024-01-02T03:04:05.123Z') as k8s.V1MicroTime },
        },
      })
      .catch((e: unknown) => e);
    expect(statusOf(millis).code).toBe(400);
    expect(statusOf(millis).status.message).toContain(
      'cannot be handled as a Lease: parsing time "2024-01-02T03:04:05.123Z"',
    );
  });
});

describe('CustomObjectsApi', () => {
  it('creates PodEIPs, merge-patches their status, refuses strategic merge with 415, and finalizes', async () => {
    const crd = YAML.parseAllDocuments(
      readFileSync(join(REPO_ROOT, 'deploy/crds/podeips.alibabacloud.com.yaml'), 'utf8'),
    )
      .map((d) => d.toJSON())
      .find((d) => d !== null);
    await h.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({ body: crd });
    const custom = h.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const ref = { group: 'alibabacloud.com', version: 'v1beta1', namespace: 'default', plural: 'podeips' };
    const created = (await custom.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: 'alibabacloud.com/v1beta1',
        kind: 'PodEIP',
        metadata: { name: 'web-0', finalizers: ['podeip.alibabacloud.com/release'] },
        spec: { allocationID: 'eip-1', allocationType: { type: 'Auto', releaseStrategy: 'Follow' } },
        status: { eipAddress: 'dropped' },
      },
    })) as { status?: unknown; metadata: { generation: number } };
    expect(created.status).toBeUndefined();
    const patched = (await custom.patchNamespacedCustomObjectStatus(
      { ...ref, name: 'web-0', body: { status: { eipAddress: '47.0.0.1', podLastSeen: '2026-01-01T00:00:00Z' } } },
      mergePatch,
    )) as { status: unknown };
    expect(patched.status).toEqual({ eipAddress: '47.0.0.1', podLastSeen: '2026-01-01T00:00:00Z' });
    const refused = await custom
      .patchNamespacedCustomObject({ ...ref, name: 'web-0', body: { spec: { allocationID: 'x' } } }, smp)
      .catch((e: unknown) => e);
    expect(statusOf(refused).code).toBe(415);
    expect(statusOf(refused).status.reason).toBe('UnsupportedMediaType');
    const deleting = (await custom.deleteNamespacedCustomObject({ ...ref, name: 'web-0' })) as {
      metadata: { deletionTimestamp?: string };
    };
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    await custom.patchNamespacedCustomObject({
      ...ref,
      name: 'web-0',
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    await expect(custom.getNamespacedCustomObject({ ...ref, name: 'web-0' })).rejects.toMatchObject({ code: 404 });
  });
});
