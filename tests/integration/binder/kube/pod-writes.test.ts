/**
 * The condition and annotation writes against the stand-in: only our condition changes, nothing is sent
 * when nothing changes, the transition time moves only on a flip, and the uid precondition keeps a pod
 * recreated under the same name from receiving its predecessor's state.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { STRATEGIC_MERGE_PATCH } from '../../../../api/kube/api-clients.js';
import { setAllocatedEipAddress } from '../../../../binder/kube/pod-annotations.js';
import { setEipCondition } from '../../../../binder/kube/pod-condition.js';
import { projectPod, type PodLike, type PodProjection } from '../../../../binder/kube/pod-projection.js';
import { createNamespace, podBody, startKubeEdge, type KubeEdge } from './support.js';

const NS = 'writes';
const EIP = 'k8s.aliyun.com/eip';
const ADDRESS = 'k8s.aliyun.com/allocated-eipAddress';
let edge: KubeEdge;

beforeAll(async () => {
  edge = await startKubeEdge();
  await createNamespace(edge, NS);
});
afterAll(async () => {
  await edge.close();
});

async function createGatedPod(name: string): Promise<void> {
  await edge.core.createNamespacedPod({
    namespace: NS,
    body: podBody(name, { annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' }, gate: true }),
  });
  // Play the kubelet: containers ready, the pod held back by the gate.
  const at = new Date('2025-01-01T00:00:00Z');
  await edge.core.patchNamespacedPodStatus(
    {
      namespace: NS,
      name,
      body: {
        status: {
          conditions: [
            { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', lastTransitionTime: at },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: at },
          ],
        },
      },
    },
    STRATEGIC_MERGE_PATCH,
  );
}

async function observe(name: string): Promise<PodProjection> {
  return projectPod((await edge.core.readNamespacedPod({ namespace: NS, name })) as PodLike)!;
}

async function conditions(name: string): Promise<k8s.V1PodCondition[]> {
  return (await edge.core.readNamespacedPod({ namespace: NS, name })).status?.conditions ?? [];
}

const statusPatches = (name: string): number =>
  edge.sandbox.controls.requestCount({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/pods/${name}/status` });
const podPatches = (name: string): number =>
  edge.sandbox.controls.requestCount({ method: 'PATCH', path: new RegExp(`^/api/v1/namespaces/${NS}/pods/${name}$`) });

describe('setEipCondition', () => {
  it('adds only its own condition, keeping the kubelet’s, and sends nothing when it already holds', async () => {
    await createGatedPod('c1');
    const before = statusPatches('c1');
    const first = await setEipCondition(
      edge.core,
      await observe('c1'),
      { status: 'False', reason: 'Binding', message: 'associating eip-1' },
      { now: () => new Date('2025-03-01T10:00:00Z') },
    );
    expect(first).toEqual({ wrote: true, podGone: false });
    const after = await conditions('c1');
    expect(after.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'ContainersReady=True', `${EIP}=False`]);
    const eip = after.find((c) => c.type === EIP)!;
    expect(eip).toMatchObject({ reason: 'Binding', message: 'associating eip-1' });
    expect(eip.lastProbeTime ?? null).toBeNull();
    expect(new Date(eip.lastTransitionTime!).toISOString()).toBe('2025-03-01T10:00:00.000Z');

    const again = await setEipCondition(edge.core, await observe('c1'), {
      status: 'False',
      reason: 'Binding',
      message: 'associating eip-1',
    });
    expect(again).toEqual({ wrote: false, podGone: false });
    expect(statusPatches('c1')).toBe(before + 1);
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status flips', async () => {
    await createGatedPod('c2');
    await setEipCondition(
      edge.core,
      await observe('c2'),
      { status: 'False', reason: 'Binding', message: 'a' },
      { now: () => new Date('2025-03-01T10:00:00Z') },
    );
    await setEipCondition(
      edge.core,
      await observe('c2'),
      { status: 'False', reason: 'CloudError', message: 'b' },
      { now: () => new Date('2025-03-01T11:00:00Z') },
    );
    let eip = (await observe('c2')).eipCondition!;
    expect(eip).toMatchObject({ status: 'False', reason: 'CloudError', message: 'b' });
    expect(new Date(eip.lastTransitionTime!).toISOString()).toBe('2025-03-01T10:00:00.000Z');
    await setEipCondition(
      edge.core,
      await observe('c2'),
      { status: 'True', reason: 'Associate eip succeed', message: '' },
      { now: () => new Date('2025-03-01T12:00:00Z') },
    );
    eip = (await observe('c2')).eipCondition!;
    expect(eip.status).toBe('True');
    expect(new Date(eip.lastTransitionTime!).toISOString()).toBe('2025-03-01T12:00:00.000Z');
    expect((await conditions('c2')).map((c) => c.type)).toEqual(['Ready', 'ContainersReady', EIP]);
  });

  it('does not touch a pod recreated under the same name, and counts it as gone', async () => {
    await createGatedPod('c3');
    const old = await observe('c3');
    await edge.core.deleteNamespacedPod({ namespace: NS, name: 'c3' });
    await createGatedPod('c3');
    const result = await setEipCondition(edge.core, old, {
      status: 'True',
      reason: 'Associate eip succeed',
      message: '',
    });
    expect(result).toEqual({ wrote: false, podGone: true });
    expect((await conditions('c3')).some((c) => c.type === EIP)).toBe(false);
  });

  it('counts a deleted pod as done', async () => {
    await createGatedPod('c4');
    const old = await observe('c4');
    await edge.core.deleteNamespacedPod({ namespace: NS, name: 'c4' });
    expect(
      await setEipCondition(edge.core, old, { status: 'True', reason: 'Associate eip succeed', message: '' }),
    ).toEqual({ wrote: false, podGone: true });
  });
});

describe('setAllocatedEipAddress', () => {
  it('sets and removes the address with a merge patch, leaving other annotations, and sends nothing when unchanged', async () => {
    await createGatedPod('a1');
    const before = podPatches('a1');
    expect(await setAllocatedEipAddress(edge.core, await observe('a1'), '47.100.1.2')).toEqual({
      wrote: true,
      podGone: false,
    });
    const read = await edge.core.readNamespacedPod({ namespace: NS, name: 'a1' });
    expect(read.metadata?.annotations).toEqual({ 'k8s.aliyun.com/pod-with-eip': 'true', [ADDRESS]: '47.100.1.2' });
    expect(await setAllocatedEipAddress(edge.core, await observe('a1'), '47.100.1.2')).toEqual({
      wrote: false,
      podGone: false,
    });
    expect(podPatches('a1')).toBe(before + 1);

    expect(await setAllocatedEipAddress(edge.core, await observe('a1'), undefined)).toEqual({
      wrote: true,
      podGone: false,
    });
    expect((await edge.core.readNamespacedPod({ namespace: NS, name: 'a1' })).metadata?.annotations).toEqual({
      'k8s.aliyun.com/pod-with-eip': 'true',
    });
    expect(await setAllocatedEipAddress(edge.core, await observe('a1'), undefined)).toEqual({
      wrote: false,
      podGone: false,
    });
    expect(podPatches('a1')).toBe(before + 2);
  });

  it('never writes the address on a pod recreated under the same name', async () => {
    await createGatedPod('a2');
    const old = await observe('a2');
    await edge.core.deleteNamespacedPod({ namespace: NS, name: 'a2' });
    await createGatedPod('a2');
    expect(await setAllocatedEipAddress(edge.core, old, '47.100.1.3')).toEqual({ wrote: false, podGone: true });
    expect(
      (await edge.core.readNamespacedPod({ namespace: NS, name: 'a2' })).metadata?.annotations?.[ADDRESS],
    ).toBeUndefined();
    await edge.core.deleteNamespacedPod({ namespace: NS, name: 'a2' });
    expect(await setAllocatedEipAddress(edge.core, old, '47.100.1.3')).toEqual({ wrote: false, podGone: true });
  });
});
