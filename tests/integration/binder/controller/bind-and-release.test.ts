/**
 * One binder, the whole path: a pod that asks for an EIP (auto, or a static one by id) becomes Ready only
 * once its EIP is InUse on its IP; the condition, the address annotation and the PodEIP read exactly as
 * ACK's do; deleting the pod unbinds and releases (auto) or only unbinds (static), and the PodEIP goes,
 * as the release strategy the pod asks for at that moment says. A
 * pod that finishes (Succeeded or Failed) lets its EIP go as a deleted one does. A pod that asks for
 * nothing costs nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE, PODEIP_FINALIZER } from '../../../../api/constants.js';
import type { EipRecord } from '../../../../sandbox/cloud/types.js';
import type { KubeObject } from '../../../../sandbox/kube/types.js';
import {
  addressOf,
  conditionOf,
  deletePod,
  eipsOwnedBy,
  metricValue,
  neverReadyBeforeInUse,
  podBody,
  podEvents,
  podIpOf,
  sleep,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
const AUTO = { 'k8s.aliyun.com/pod-with-eip': 'true' };
let world: World;
let binder: TestBinder;

beforeAll(async () => {
  world = await startWorld();
  binder = await startSyncedBinder(world);
});
afterAll(async () => {
  world?.sandbox.cloud.controls.setFaults({});
  await binder?.stop();
  await world?.close();
});

/**
 * Creates the pod and samples it until Ready. With `holdAssociation`, associations stay Associating until
 * the binder has looked at one mid-way (its condition says so), so the sampling covers that moment too.
 */
async function createAndWaitReady(
  name: string,
  annotations: Record<string, string>,
  options: { holdAssociation?: boolean } = {},
): Promise<{ readySamples: number }> {
  const controls = world.sandbox.cloud.controls;
  if (options.holdAssociation) controls.setFaults({ stickTransitions: true });
  await world.core.createNamespacedPod({ namespace: NS, body: podBody(name, annotations) });
  const ready = (async () => {
    if (options.holdAssociation) {
      await waitFor(`${name} seen Associating`, () =>
        String(conditionOf(storedPod(world, NS, name), EIP_CONDITION_TYPE)?.message ?? '').includes(
          'it is Associating',
        ),
      );
      controls.setFaults({});
    }
    await waitFor(`${name} Ready`, () => conditionOf(storedPod(world, NS, name), 'Ready')?.status === 'True');
  })();
  return neverReadyBeforeInUse(world, NS, name, ready);
}

describe('an auto EIP', () => {
  it('is allocated, bound, and announced only once InUse; the PodEIP reads as ACK writes it', async () => {
    const sampled = await createAndWaitReady(
      'auto-1',
      { 'k8s.aliyun.com/pod-with-eip': 'true', 'k8s.aliyun.com/eip-bandwidth': '10' },
      { holdAssociation: true },
    );
    expect(sampled.readySamples).toBeGreaterThan(0);

    const pod = storedPod(world, NS, 'auto-1')!;
    const uid = pod.metadata.uid!;
    const owned = eipsOwnedBy(world, uid);
    expect(owned).toHaveLength(1);
    const eip = owned[0]!;
    const podIp = podIpOf(pod)!;
    expect(eip).toMatchObject({
      status: 'InUse',
      instanceType: 'NetworkInterface',
      privateIpAddress: podIp,
      bandwidth: '10',
      internetChargeType: 'PayByTraffic',
    });
    expect(conditionOf(pod, EIP_CONDITION_TYPE)).toMatchObject({
      type: EIP_CONDITION_TYPE,
      status: 'True',
      reason: 'Associate eip succeed',
    });
    expect(addressOf(pod)).toBe(eip.ipAddress);

    const podEip = storedPodEip(world, NS, 'auto-1')!;
    expect(podEip.metadata.finalizers).toEqual([PODEIP_FINALIZER]);
    expect(podEip.metadata.annotations?.['podeip.io/pod-uid']).toBe(uid);
    expect(podEip.spec).toEqual({
      allocationID: eip.allocationId,
      allocationType: { type: 'Auto', releaseStrategy: 'Follow' },
    });
    const status = podEip.status as Record<string, unknown>;
    expect(status).toEqual({
      eipAddress: eip.ipAddress,
      networkInterfaceID: eip.instanceId,
      privateIPAddress: podIp,
      status: 'InUse',
      isp: eip.isp,
      internetChargeType: 'PayByTraffic',
      resourceGroupID: eip.resourceGroupId,
      podLastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    // Events are written in the background, after the condition.
    await waitFor('an EipBound Event', async () =>
      (await podEvents(world, NS, 'auto-1')).some((e) => e.reason === 'EipBound' && e.type === 'Normal'),
    );
    expect(await metricValue(binder.registry, 'podeip_binder_bind_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('is unbound and released when the pod is deleted, and the PodEIP goes', async () => {
    // A pod of its own, so that this test runs alone or in any order.
    await createAndWaitReady('auto-2', AUTO);
    const uid = storedPod(world, NS, 'auto-2')!.metadata.uid!;
    const [eip] = eipsOwnedBy(world, uid);
    expect(eip).toMatchObject({ status: 'InUse' });
    await deletePod(world, NS, 'auto-2');
    await waitFor('PodEIP auto-2 gone', () => storedPodEip(world, NS, 'auto-2') === undefined);
    expect(world.sandbox.cloud.controls.eips().find((e) => e.allocationId === eip!.allocationId)).toBeUndefined();
    expect(eipsOwnedBy(world, uid)).toEqual([]);
  });
});

describe('a release strategy changed on a live pod', () => {
  it("is recorded in the PodEIP, releaseAfter and all, and the pod's deletion follows the new one", async () => {
    await createAndWaitReady('auto-ttl', { ...AUTO, 'k8s.aliyun.com/pod-eip-release-strategy': '10m' });
    expect(storedPodEip(world, NS, 'auto-ttl')!.spec).toMatchObject({
      allocationType: { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '10m0s' },
    });
    const [eip] = eipsOwnedBy(world, storedPod(world, NS, 'auto-ttl')!.metadata.uid!);

    // Removing the annotation asks for the default, Follow; under the TTL the deletion would keep the EIP
    // 10 minutes. The record must lose releaseAfter too, or the binder would write it again on every pass.
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await world.core.patchNamespacedPod(
      {
        namespace: NS,
        name: 'auto-ttl',
        body: { metadata: { annotations: { 'k8s.aliyun.com/pod-eip-release-strategy': null } } },
      },
      mergePatch,
    );
    const allocationType = (): unknown =>
      (storedPodEip(world, NS, 'auto-ttl')?.spec as { allocationType?: unknown } | undefined)?.allocationType;
    await waitFor(
      'Follow recorded',
      () => (allocationType() as { releaseStrategy?: string } | undefined)?.releaseStrategy === 'Follow',
    );
    expect(allocationType()).toEqual({ type: 'Auto', releaseStrategy: 'Follow' });

    await deletePod(world, NS, 'auto-ttl');
    await waitFor('PodEIP auto-ttl gone', () => storedPodEip(world, NS, 'auto-ttl') === undefined);
    expect(world.sandbox.cloud.controls.eips().find((e) => e.allocationId === eip!.allocationId)).toBeUndefined();
  });
});

describe('a static EIP', () => {
  it('is bound to the pod that names it, and only unbound when the pod goes', async () => {
    const created = world.sandbox.cloud.controls.createEip({ name: 'kept' });
    const sampled = await createAndWaitReady('static-1', { 'k8s.aliyun.com/pod-eip-instanceid': created.allocationId });
    expect(sampled.readySamples).toBeGreaterThan(0);

    const pod = storedPod(world, NS, 'static-1')!;
    const eip = world.sandbox.cloud.controls.eips().find((e) => e.allocationId === created.allocationId)!;
    expect(eip).toMatchObject({ status: 'InUse', privateIpAddress: podIpOf(pod) });
    expect(conditionOf(pod, EIP_CONDITION_TYPE)).toMatchObject({ status: 'True', reason: 'Associate eip succeed' });
    expect(addressOf(pod)).toBe(created.ipAddress);
    const podEip = storedPodEip(world, NS, 'static-1')!;
    expect(podEip.spec).toEqual({
      allocationID: created.allocationId,
      allocationType: { type: 'Static', releaseStrategy: 'Follow' },
    });
    expect(podEip.status).toMatchObject({
      eipAddress: created.ipAddress,
      status: 'InUse',
      name: 'kept',
      privateIPAddress: podIpOf(pod),
    });

    await deletePod(world, NS, 'static-1');
    await waitFor('PodEIP static-1 gone', () => storedPodEip(world, NS, 'static-1') === undefined);
    const after = world.sandbox.cloud.controls.eips().find((e) => e.allocationId === created.allocationId);
    expect(after).toMatchObject({ status: 'Available', instanceId: '', privateIpAddress: '' });
  });
});

/** What a kubelet would write: the phase, and the IP while the pod has one. */
function writePodStatus(name: string, phase: string, podIP: string): void {
  const store = world.sandbox.kube.store;
  const pods = store.resourceType('', 'pods')!;
  const current = store.get(pods, NS, name)!;
  const status = {
    phase,
    podIP,
    podIPs: [{ ip: podIP }],
    hostIP: '10.0.0.99',
    startTime: current.metadata.creationTimestamp,
  };
  store.update(
    pods,
    { ...current, status: { ...(current.status as Record<string, unknown>), ...status } } as KubeObject,
    { subresource: 'status' },
  );
}

async function startJobPod(name: string, ip: string, annotations: Record<string, string> = AUTO): Promise<void> {
  const body = podBody(name, annotations);
  await world.core.createNamespacedPod({
    namespace: NS,
    body: { ...body, spec: { ...body.spec!, nodeName: 'job-node', restartPolicy: 'Never' } },
  });
  writePodStatus(name, 'Running', ip);
}

const boundEip = (name: string) => () => {
  const pod = storedPod(world, NS, name);
  if (conditionOf(pod, EIP_CONDITION_TYPE)?.status !== 'True') return undefined;
  return eipsOwnedBy(world, pod!.metadata.uid!).find((eip) => eip.status === 'InUse');
};

/** A job pod on an IP of an ENI of its own, once its EIP is bound there. */
async function boundJobPod(
  name: string,
  annotations: Record<string, string> = AUTO,
): Promise<{ eni: string; ip: string; eip: EipRecord }> {
  const controls = world.sandbox.cloud.controls;
  const eni = controls.createNetworkInterface({ type: 'Secondary', instanceId: `i-${name}` }).networkInterfaceId;
  const ip = controls.assignPrivateIpAddress(eni);
  await startJobPod(name, ip, annotations);
  const eip = await waitFor(`${name} bound`, boundEip(name));
  expect(eip).toMatchObject({ instanceId: eni, privateIpAddress: ip });
  return { eni, ip, eip };
}

describe("a pod that finished (a Job's pod: Succeeded or Failed, not deleted yet)", () => {
  // The CNI gives its IP back and the next pod may get it, so the EIP must not stay bound there. These pods
  // run on a node no sandbox kubelet serves: the test plays the kubelet, writing the IP and the phase.
  it('has its EIP unbound and released, and the next pod on its IP gets its own', async () => {
    const controls = world.sandbox.cloud.controls;
    const { eni, ip, eip: first } = await boundJobPod('job-1');
    const uid = storedPod(world, NS, 'job-1')!.metadata.uid!;

    writePodStatus('job-1', 'Succeeded', ip);
    await waitFor('PodEIP job-1 gone', () => storedPodEip(world, NS, 'job-1') === undefined);
    await waitFor('job-1 address annotation gone', () => addressOf(storedPod(world, NS, 'job-1')) === undefined);
    expect(controls.eips().find((eip) => eip.allocationId === first.allocationId)).toBeUndefined();
    expect(eipsOwnedBy(world, uid)).toEqual([]);
    const pod = storedPod(world, NS, 'job-1')!;
    expect((pod.status as { phase: string }).phase).toBe('Succeeded');
    expect(conditionOf(pod, EIP_CONDITION_TYPE)).toMatchObject({ status: 'False', reason: 'PodFinished' });

    // The CNI hands the IP to the next pod, which gets an EIP of its own.
    await startJobPod('job-2', ip);
    const second = await waitFor('job-2 bound', boundEip('job-2'));
    expect(second.allocationId).not.toBe(first.allocationId);
    expect(second).toMatchObject({ instanceId: eni, privateIpAddress: ip });
    expect(controls.eips().filter((eip) => eip.privateIpAddress === ip)).toHaveLength(1);
    // The finished pod stays as it was: no new binding, no record.
    expect(storedPodEip(world, NS, 'job-1')).toBeUndefined();
    expect(addressOf(storedPod(world, NS, 'job-1'))).toBeUndefined();
  });

  it('keeps PodFinished and the podLastSeen of its finish while the cloud fails the unbinding', async () => {
    const controls = world.sandbox.cloud.controls;
    const { ip, eip: bound } = await boundJobPod('job-3');
    const lastSeen = (): string | undefined =>
      (storedPodEip(world, NS, 'job-3')?.status as { podLastSeen?: string } | undefined)?.podLastSeen;
    const before = lastSeen();
    const failedUnbindings = (): Promise<number> =>
      metricValue(binder.registry, 'podeip_binder_cloud_calls_total', {
        api: 'UnassociateEipAddress',
        code: 'InternalError',
      });
    const failedBefore = await failedUnbindings();

    controls.setFaults({ failureRate: 1, codes: ['InternalError'], actions: ['UnassociateEipAddress'] });
    try {
      writePodStatus('job-3', 'Failed', ip);
      const stamped = await waitFor('podLastSeen stamped at the finish', () => lastSeen() !== before && lastSeen());
      // Two passes, each failing; the retry must not take the failure for a fresh finish.
      await waitFor('two failed passes', async () => (await failedUnbindings()) - failedBefore >= 6);
      expect(conditionOf(storedPod(world, NS, 'job-3'), EIP_CONDITION_TYPE)).toMatchObject({
        status: 'False',
        reason: 'PodFinished',
      });
      expect(lastSeen()).toBe(stamped);
    } finally {
      controls.setFaults({});
    }
    await waitFor('PodEIP job-3 gone', () => storedPodEip(world, NS, 'job-3') === undefined);
    expect(controls.eips().find((eip) => eip.allocationId === bound.allocationId)).toBeUndefined();
  });

  it('under Never has its EIP unbound from the IP it gave back, and kept', async () => {
    const controls = world.sandbox.cloud.controls;
    const { ip, eip } = await boundJobPod('job-4', { ...AUTO, 'k8s.aliyun.com/pod-eip-release-strategy': 'Never' });
    writePodStatus('job-4', 'Succeeded', ip);
    await waitFor('job-4 address annotation gone', () => addressOf(storedPod(world, NS, 'job-4')) === undefined);
    expect(controls.eips().find((e) => e.allocationId === eip.allocationId)).toMatchObject({
      status: 'Available',
      instanceId: '',
      privateIpAddress: '',
    });
    const record = storedPodEip(world, NS, 'job-4')!;
    expect(record.spec).toMatchObject({ allocationID: eip.allocationId, allocationType: { releaseStrategy: 'Never' } });
    expect(record.status).toMatchObject({ eipAddress: eip.ipAddress, status: 'Available' });
    expect(record.status).not.toHaveProperty('networkInterfaceID');
    expect(record.status).not.toHaveProperty('privateIPAddress');
  });
});

describe('a pod that asks for nothing', () => {
  it('costs no cloud call and no write', async () => {
    await waitFor(
      'the binder idle',
      async () => (await metricValue(binder.registry, 'podeip_binder_queue_depth')) === 0,
    );
    await sleep(300);
    const callsBefore = JSON.stringify(world.sandbox.cloud.controls.callCounts());
    const reconcilesBefore = await metricValue(binder.registry, 'podeip_binder_reconciles_total');
    world.sandbox.kube.controls.clearRequestLog();
    await world.core.createNamespacedPod({ namespace: NS, body: podBody('plain', {}, { gate: false }) });
    await waitFor('plain Ready', () => conditionOf(storedPod(world, NS, 'plain'), 'Ready')?.status === 'True');
    await sleep(500);
    expect(JSON.stringify(world.sandbox.cloud.controls.callCounts())).toBe(callsBefore);
    expect(storedPodEip(world, NS, 'plain')).toBeUndefined();
    expect(conditionOf(storedPod(world, NS, 'plain'), EIP_CONDITION_TYPE)).toBeUndefined();
    // The projection leaves the pod out of the cache, so it never reaches a worker.
    expect(await metricValue(binder.registry, 'podeip_binder_reconciles_total')).toBe(reconcilesBefore);
    expect(world.sandbox.kube.controls.requestCount({ method: 'POST', path: /podeips/ })).toBe(0);
    expect(world.sandbox.kube.controls.requestLog({ path: /\/pods\/plain/ }).filter((e) => e.method !== 'GET')).toEqual(
      [],
    );
  });
});
