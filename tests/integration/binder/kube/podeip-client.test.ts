/**
 * PodEIP CRUD through CustomObjectsApi against the stand-in with the CRD installed: the finalizer on
 * create, ACK's shape (no ownerReference), status through /status, finalizer removal guarded by the
 * resourceVersion, and a delete that really removes the object once the finalizer is off.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { PODEIP_FINALIZER } from '../../../../api/constants.js';
import { podEipCustomResourceDefinition, type PodEIP, type PodEIPSpec } from '../../../../api/podeip.js';
import { apiErrorStatus } from '../../../../api/kube/api-clients.js';
import { PodEipClient, podEipListWatch } from '../../../../binder/kube/podeip-client.js';
import { createNamespace, eventually, startKubeEdge, type KubeEdge } from './support.js';

const NS = 'eips';
const SPEC: PodEIPSpec = {
  allocationID: 'eip-bp1aaa',
  allocationType: { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '10m0s' },
};
let edge: KubeEdge;
let client: PodEipClient;

beforeAll(async () => {
  edge = await startKubeEdge();
  const extensions = edge.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  await extensions.createCustomResourceDefinition({
    body: podEipCustomResourceDefinition() as unknown as k8s.V1CustomResourceDefinition,
  });
  await createNamespace(edge, NS);
  client = new PodEipClient(edge.customObjects);
});
afterAll(async () => {
  await edge.close();
});

describe('PodEipClient', () => {
  it('creates the record with the finalizer and no owner, and reads it back', async () => {
    const created = await client.create({ namespace: NS, name: 'room-0' }, SPEC);
    expect(created.metadata.finalizers).toEqual([PODEIP_FINALIZER]);
    expect(created.spec).toEqual(SPEC);
    const raw = (await edge.customObjects.getNamespacedCustomObject({
      group: 'alibabacloud.com',
      version: 'v1beta1',
      namespace: NS,
      plural: 'podeips',
      name: 'room-0',
    })) as { metadata: Record<string, unknown> };
    expect(raw.metadata.ownerReferences).toBeUndefined();
    expect(await client.get({ namespace: NS, name: 'room-0' })).toEqual(created);
    expect(await client.get({ namespace: NS, name: 'nobody' })).toBeUndefined();
    const again = await client.create({ namespace: NS, name: 'room-0' }, SPEC).catch((e: unknown) => e);
    expect(apiErrorStatus(again)).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });

  it('writes status through /status and spec through the main resource, each merged', async () => {
    await client.create({ namespace: NS, name: 'room-1' }, SPEC);
    const withStatus = await client.patchStatus(
      { namespace: NS, name: 'room-1' },
      { eipAddress: '47.1.1.1', status: 'InUse', podLastSeen: '2025-01-01T00:00:00Z' },
    );
    expect(withStatus?.status).toEqual({
      eipAddress: '47.1.1.1',
      status: 'InUse',
      podLastSeen: '2025-01-01T00:00:00Z',
    });
    const cleared = await client.patchStatus(
      { namespace: NS, name: 'room-1' },
      { podLastSeen: null, networkInterfaceID: 'eni-1' },
    );
    expect(cleared?.status).toEqual({ eipAddress: '47.1.1.1', status: 'InUse', networkInterfaceID: 'eni-1' });
    const patched = await client.patchRecord(
      { namespace: NS, name: 'room-1' },
      { spec: { bandwidthPackageID: 'cbwp-1' } },
    );
    expect(patched?.spec).toEqual({ ...SPEC, bandwidthPackageID: 'cbwp-1' });
    expect(patched?.status?.eipAddress).toBe('47.1.1.1');
    const stale = await client
      .patchStatus(
        { namespace: NS, name: 'room-1' },
        { status: 'Available' },
        { resourceVersion: withStatus!.metadata.resourceVersion! },
      )
      .catch((e: unknown) => e);
    expect(apiErrorStatus(stale)?.code).toBe(409);
    expect(await client.patchStatus({ namespace: NS, name: 'gone' }, { status: 'InUse' })).toBeUndefined();
  });

  it('deletes for real only once the finalizer is off, keeping other finalizers until then', async () => {
    const seen: string[] = [];
    const lw = podEipListWatch(edge.kubeConfig, {
      namespace: NS,
      handlers: {
        onAdd: (p) => seen.push(`add ${p.metadata.name}`),
        onDelete: (p) => seen.push(`delete ${p.metadata.name}`),
      },
    });
    lw.start();
    try {
      await lw.waitForSync();
      await client.create({ namespace: NS, name: 'room-2' }, SPEC, { labels: { app: 'game' } });
      await eventually(() => (seen.includes('add room-2') ? true : undefined));
      await edge.customObjects.patchNamespacedCustomObject(
        {
          group: 'alibabacloud.com',
          version: 'v1beta1',
          namespace: NS,
          plural: 'podeips',
          name: 'room-2',
          body: { metadata: { finalizers: [PODEIP_FINALIZER, 'example.com/other'] } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      expect(await client.delete({ namespace: NS, name: 'room-2' })).toBe(true);
      const deleting = (await client.get({ namespace: NS, name: 'room-2' }))!;
      expect(deleting.metadata.deletionTimestamp).toBeDefined();
      expect(lw.get(`${NS}/room-2`)?.metadata.finalizers).toEqual([PODEIP_FINALIZER, 'example.com/other']);

      // A stale read must not drop a finalizer someone added since.
      const stale: PodEIP = { ...deleting, metadata: { ...deleting.metadata, resourceVersion: '1' } };
      expect(apiErrorStatus(await client.removeFinalizer(stale).catch((e: unknown) => e))?.code).toBe(409);

      expect(await client.removeFinalizer(deleting)).toBe('removed');
      const remaining = (await client.get({ namespace: NS, name: 'room-2' }))!;
      expect(remaining.metadata.finalizers).toEqual(['example.com/other']);
      expect(await client.removeFinalizer(remaining)).toBe('absent');

      await edge.customObjects.patchNamespacedCustomObject(
        {
          group: 'alibabacloud.com',
          version: 'v1beta1',
          namespace: NS,
          plural: 'podeips',
          name: 'room-2',
          body: { metadata: { finalizers: null } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      expect(await client.get({ namespace: NS, name: 'room-2' })).toBeUndefined();
      await eventually(() => (seen.includes('delete room-2') ? true : undefined));
      expect(await client.delete({ namespace: NS, name: 'room-2' })).toBe(false);
    } finally {
      await lw.stop();
    }
  });

  it('removes its finalizer and the object goes when it was the last one', async () => {
    await client.create({ namespace: NS, name: 'room-3' }, SPEC);
    await client.delete({ namespace: NS, name: 'room-3' });
    const deleting = (await client.get({ namespace: NS, name: 'room-3' }))!;
    expect(await client.removeFinalizer(deleting)).toBe('removed');
    expect(await client.get({ namespace: NS, name: 'room-3' })).toBeUndefined();
    expect(await client.removeFinalizer(deleting)).toBe('gone');
  });

  it('deletes with a uid precondition only the object it read', async () => {
    const first = await client.create({ namespace: NS, name: 'room-4' }, SPEC);
    await client.removeFinalizer(first);
    await client.delete({ namespace: NS, name: 'room-4' });
    const second = await client.create({ namespace: NS, name: 'room-4' }, SPEC);
    const refused = await client
      .delete({ namespace: NS, name: 'room-4' }, { uid: first.metadata.uid! })
      .catch((e: unknown) => e);
    expect(apiErrorStatus(refused)?.code).toBe(409);
    expect((await client.get({ namespace: NS, name: 'room-4' }))?.metadata.uid).toBe(second.metadata.uid);
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
  });
});
