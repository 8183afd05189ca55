/**
 * What a tenant with ordinary namespace rights can write against the binder, and what it must not get:
 * a hand-made PodEIP that names an EIP podeip did not allocate for it is never released or unbound by
 * podeip; one that forges a binding to another namespace's pod does not unbind it; a pod cannot bind an
 * EIP another namespace recorded first, nor one bound to another namespace's pod; and what it is told
 * names nothing of the other namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import { captureLogs } from '../../captured-logs.js';
import {
  conditionOf,
  createNamespace,
  deletePod,
  metricValue,
  podBody,
  podEvents,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const customObjects = (): k8s.CustomObjectsApi => world.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
const PODEIPS = { group: 'alibabacloud.com', version: 'v1beta1', plural: 'podeips' };
let world: World;
let binder: TestBinder;
/** The binder's log lines, kept to read the audit trail. */
const logs = captureLogs('info');

beforeAll(async () => {
  world = await startWorld();
  binder = await startSyncedBinder(world, { logger: logs.logger });
  for (const namespace of ['team-a', 'team-b']) await createNamespace(world, namespace);
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

/** A PodEIP as a tenant could write it: podeip's own marks, any EIP, any status. */
async function forgePodEip(
  namespace: string,
  name: string,
  spec: { allocationID: string; type: 'Auto' | 'Static' },
  status?: Record<string, string>,
): Promise<void> {
  await customObjects().createNamespacedCustomObject({
    ...PODEIPS,
    namespace,
    body: {
      apiVersion: 'alibabacloud.com/v1beta1',
      kind: 'PodEIP',
      metadata: { name, namespace, annotations: { 'podeip.io/pod-uid': 'forged-uid' } },
      spec: { allocationID: spec.allocationID, allocationType: { type: spec.type, releaseStrategy: 'Follow' } },
    },
  });
  if (status !== undefined)
    await customObjects().patchNamespacedCustomObjectStatus(
      { ...PODEIPS, namespace, name, body: { status } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
}

async function boundPod(namespace: string, name: string, annotations: Record<string, string>) {
  await world.core.createNamespacedPod({ namespace, body: podBody(name, annotations) });
  return waitFor(`${namespace}/${name} bound`, () => {
    const pod = storedPod(world, namespace, name);
    return conditionOf(pod, EIP_CONDITION_TYPE)?.status === 'True' ? pod : undefined;
  });
}

function eip(allocationId: string) {
  return world.sandbox.cloud.controls.eips().find((e) => e.allocationId === allocationId);
}

describe('hand-made PodEIPs', () => {
  it('never releases an EIP podeip did not allocate for the record: the record goes, the EIP stays', async () => {
    const before = await metricValue(binder.registry, 'podeip_binder_refusals_total');
    const victim = world.sandbox.cloud.controls.createEip({ name: 'someone else' });
    await forgePodEip('team-a', 'ghost', { allocationID: victim.allocationId, type: 'Auto' });
    await waitFor('the ghost record gone', () => storedPodEip(world, 'team-a', 'ghost') === undefined);
    expect(eip(victim.allocationId)?.status).toBe('Available');
    const events = await waitFor('a refusal Event', async () => {
      const found = (await world.core.listNamespacedEvent({ namespace: 'team-a' })).items.filter(
        (e) => e.reason === 'EipNotPodeipsToUndo',
      );
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]!.message).toContain(victim.allocationId);
    expect(await metricValue(binder.registry, 'podeip_binder_refusals_total')).toBeGreaterThan(before);
  });

  it("does not unbind another namespace's static EIP for a record that forges that binding", async () => {
    const shared = world.sandbox.cloud.controls.createEip({ name: 'team-b static' });
    await boundPod('team-b', 'b-static', { 'k8s.aliyun.com/pod-eip-instanceid': shared.allocationId });
    const bound = eip(shared.allocationId)!;
    expect(bound.status).toBe('InUse');
    // Written while no binder runs, so the record and its forged status are seen together.
    await binder.stop();
    await forgePodEip(
      'team-a',
      'ghost-static',
      { allocationID: shared.allocationId, type: 'Static' },
      {
        status: 'InUse',
        networkInterfaceID: bound.instanceId,
        privateIPAddress: bound.privateIpAddress,
        eipAddress: bound.ipAddress,
      },
    );
    binder = await startSyncedBinder(world, { logger: logs.logger });
    await waitFor('the forged record gone', () => storedPodEip(world, 'team-a', 'ghost-static') === undefined);
    expect(eip(shared.allocationId)).toMatchObject({ status: 'InUse', instanceId: bound.instanceId });
    expect(conditionOf(storedPod(world, 'team-b', 'b-static'), EIP_CONDITION_TYPE)?.status).toBe('True');
  });
});

describe("another namespace's EIPs", () => {
  it('are not bound by id: neither one kept for a pod of another namespace, nor one bound to a pod there', async () => {
    const kept = world.sandbox.cloud.controls.createEip({ name: 'team-b never' });
    await boundPod('team-b', 'b-never', {
      'k8s.aliyun.com/pod-eip-instanceid': kept.allocationId,
      'k8s.aliyun.com/pod-eip-release-strategy': 'Never',
    });
    await deletePod(world, 'team-b', 'b-never');
    await waitFor('the kept EIP unbound', () => eip(kept.allocationId)?.status === 'Available');
    expect(storedPodEip(world, 'team-b', 'b-never')).toBeDefined();

    await world.core.createNamespacedPod({
      namespace: 'team-a',
      body: podBody('a-taker', { 'k8s.aliyun.com/pod-eip-instanceid': kept.allocationId }),
    });
    const refused = await waitFor('a-taker refused', () => {
      const condition = conditionOf(storedPod(world, 'team-a', 'a-taker'), EIP_CONDITION_TYPE);
      return condition?.reason === 'EipClaimedElsewhere' ? condition : undefined;
    });
    expect(refused.status).toBe('False');
    expect(eip(kept.allocationId)?.status).toBe('Available');

    const held = world.sandbox.cloud.controls.createEip({ name: 'team-b held' });
    await boundPod('team-b', 'b-holder', { 'k8s.aliyun.com/pod-eip-instanceid': held.allocationId });
    await world.core.createNamespacedPod({
      namespace: 'team-a',
      body: podBody('a-grabber', { 'k8s.aliyun.com/pod-eip-instanceid': held.allocationId }),
    });
    await waitFor('a-grabber refused', () => {
      const condition = conditionOf(storedPod(world, 'team-a', 'a-grabber'), EIP_CONDITION_TYPE);
      return condition?.reason === 'EipClaimedElsewhere' || condition?.reason === 'EipInUseByAnotherPod'
        ? condition
        : undefined;
    });
    expect(conditionOf(storedPod(world, 'team-b', 'b-holder'), EIP_CONDITION_TYPE)?.status).toBe('True');

    // What team-a sees names nothing of team-b: not its pods, not their ENIs or IPs.
    const told = [
      ...(await podEvents(world, 'team-a', 'a-taker')).map((e) => e.message ?? ''),
      ...(await podEvents(world, 'team-a', 'a-grabber')).map((e) => e.message ?? ''),
      String(conditionOf(storedPod(world, 'team-a', 'a-taker'), EIP_CONDITION_TYPE)?.message),
      String(conditionOf(storedPod(world, 'team-a', 'a-grabber'), EIP_CONDITION_TYPE)?.message),
    ].join('\n');
    const holder = eip(held.allocationId)!;
    for (const secret of ['team-b', 'b-never', 'b-holder', holder.instanceId, holder.privateIpAddress])
      expect(told).not.toContain(secret);

    // Each decision is one audit line: whose pod, its ServiceAccount, the EIP and the rule.
    const audit = logs.lines.filter((line) => line.audit === 'eip-binding');
    expect(audit).toContainEqual(
      expect.objectContaining({
        namespace: 'team-a',
        pod: 'a-taker',
        serviceAccount: 'default',
        allocationId: kept.allocationId,
        decision: 'refused',
        rule: 'EipClaimedElsewhere',
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        namespace: 'team-b',
        pod: 'b-holder',
        allocationId: held.allocationId,
        decision: 'allowed',
        rule: 'StaticNotRecordedElsewhereFirst',
      }),
    );
    expect(audit.filter((line) => line.pod === 'a-taker')).toHaveLength(1);
  });
});
