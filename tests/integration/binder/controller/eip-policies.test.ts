/**
 * The binder enforces EIPPolicies itself, for pods the webhook never checked (it was bypassed, or the
 * policy changed since): without any policy it binds as ACK does; with one, a namespace no policy selects,
 * an allocation beyond what the policy allows, a static EIP it does not list, and an EIP past the
 * namespace's count are refused before anything is recorded or allocated, with condition and Event
 * `EipPolicyDenied`; a policy change decides the waiting pods again at once. Only a pod's own request and
 * the policy are named.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import { captureLogs } from '../../captured-logs.js';
import {
  conditionOf,
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

const POLICIES = { group: 'podeip.io', version: 'v1alpha1', plural: 'eippolicies' };
const AUTO = { 'k8s.aliyun.com/pod-with-eip': 'true' };
let world: World;
let binder: TestBinder;
/** The binder's log lines, kept to read the audit trail. */
const logs = captureLogs('info');

const customObjects = (): k8s.CustomObjectsApi => world.kubeConfig.makeApiClient(k8s.CustomObjectsApi);

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  const body = { apiVersion: 'podeip.io/v1alpha1', kind: 'EIPPolicy', metadata: { name }, spec };
  const current = (await customObjects()
    .getClusterCustomObject({ ...POLICIES, name })
    .catch(() => undefined)) as { metadata: { resourceVersion: string } } | undefined;
  if (current === undefined) await customObjects().createClusterCustomObject({ ...POLICIES, body });
  else
    await customObjects().replaceClusterCustomObject({
      ...POLICIES,
      name,
      body: { ...body, metadata: { name, resourceVersion: current.metadata.resourceVersion } },
    });
}

async function createPod(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
  await world.core.createNamespacedPod({ namespace, body: podBody(name, annotations) });
}

function condition(namespace: string, name: string): Record<string, unknown> | undefined {
  return conditionOf(storedPod(world, namespace, name), EIP_CONDITION_TYPE);
}

const bound = (namespace: string, name: string): Promise<unknown> =>
  waitFor(`${namespace}/${name} bound`, () => condition(namespace, name)?.status === 'True');

async function refused(namespace: string, name: string, message: string): Promise<void> {
  const said = await waitFor(`${namespace}/${name} refused by policy`, () => {
    const c = condition(namespace, name);
    return c?.reason === 'EipPolicyDenied' ? c : undefined;
  });
  expect(said).toMatchObject({ status: 'False', message });
  const events = await waitFor('the Warning Event', async () => {
    const found = (await podEvents(world, namespace, name)).filter((e) => e.reason === 'EipPolicyDenied');
    return found.length > 0 ? found : undefined;
  });
  expect(events[0]).toMatchObject({ type: 'Warning', message });
  // Refused before anything was recorded or allocated.
  expect(storedPodEip(world, namespace, name)).toBeUndefined();
}

beforeAll(async () => {
  world = await startWorld();
  binder = await startSyncedBinder(world, { logger: logs.logger });
  await world.core.createNamespace({ body: { metadata: { name: 'team-a', labels: { tier: 'tenant' } } } });
  await world.core.createNamespace({ body: { metadata: { name: 'team-b' } } });
});
afterAll(async () => {
  await binder?.stop();
  await world?.close();
});

describe('EIPPolicies in the binder', () => {
  it('binds as ACK does while the cluster has no EIPPolicy', async () => {
    await createPod('team-b', 'before-policies', { ...AUTO, 'k8s.aliyun.com/eip-bandwidth': '100' });
    await bound('team-b', 'before-policies');
  });

  it('refuses a namespace no policy selects once a policy exists, and keeps what was bound before', async () => {
    const eipsBefore = world.sandbox.cloud.controls.eips().length;
    const refusalsBefore = await metricValue(binder.registry, 'podeip_binder_refusals_total', {
      reason: 'EipPolicyDenied',
    });
    await applyPolicy('tenants', {
      namespaceSelector: { matchLabels: { tier: 'tenant' } },
      allocation: { maxBandwidthMbps: 10, internetChargeTypes: ['PayByTraffic'] },
      staticEips: { tags: { team: 'a' } },
      maxEipsPerNamespace: 2,
    });
    await createPod('team-b', 'unselected', AUTO);
    await refused('team-b', 'unselected', 'no EIPPolicy lets namespace team-b use EIPs');
    expect(world.sandbox.cloud.controls.eips()).toHaveLength(eipsBefore);
    expect(
      await metricValue(binder.registry, 'podeip_binder_refusals_total', { reason: 'EipPolicyDenied' }),
    ).toBeGreaterThan(refusalsBefore);
    // A binding made before the policy is kept.
    expect(condition('team-b', 'before-policies')?.status).toBe('True');
  });

  it('refuses an allocation the policy does not allow', async () => {
    await createPod('team-a', 'too-fast', { ...AUTO, 'k8s.aliyun.com/eip-bandwidth': '100' });
    await refused(
      'team-a',
      'too-fast',
      'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants allows at most 10 Mbit/s, not 100',
    );
  });

  it('binds a static EIP the policy allows by tag, and refuses one without the tag, asking the cloud', async () => {
    const tagged = world.sandbox.cloud.controls.createEip({ tags: [{ key: 'team', value: 'a' }] });
    const untagged = world.sandbox.cloud.controls.createEip({ tags: [{ key: 'team', value: 'b' }] });
    await createPod('team-a', 'static-ok', { 'k8s.aliyun.com/pod-eip-instanceid': tagged.allocationId });
    await bound('team-a', 'static-ok');
    await createPod('team-a', 'static-no', { 'k8s.aliyun.com/pod-eip-instanceid': untagged.allocationId });
    await refused(
      'team-a',
      'static-no',
      `no EIPPolicy lets namespace team-a bind the EIP ${untagged.allocationId}: EIPPolicy tenants does not list ` +
        `the EIP ${untagged.allocationId} by id, and it lacks the policy's tags and pools`,
    );
    expect(world.sandbox.cloud.controls.eips().find((e) => e.allocationId === untagged.allocationId)?.status).toBe(
      'Available',
    );
    // The refusal is an audit line naming the pod, its ServiceAccount, the EIP and the rule.
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        audit: 'eip-binding',
        namespace: 'team-a',
        pod: 'static-no',
        serviceAccount: 'default',
        allocationId: untagged.allocationId,
        decision: 'refused',
        rule: 'EipPolicyDenied',
      }),
    );
  });

  it('counts the namespace’s EIPs, and decides the waiting pods again when the policy changes', async () => {
    // team-a holds one (static-ok); the policy allows two.
    await createPod('team-a', 'second', AUTO);
    await bound('team-a', 'second');
    await createPod('team-a', 'third', AUTO);
    await refused(
      'team-a',
      'third',
      'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants allows 2 EIPs per namespace and namespace team-a holds 2',
    );
    await applyPolicy('tenants', {
      namespaceSelector: { matchLabels: { tier: 'tenant' } },
      allocation: { maxBandwidthMbps: 10, internetChargeTypes: ['PayByTraffic'] },
      staticEips: { tags: { team: 'a' } },
      maxEipsPerNamespace: 3,
    });
    await bound('team-a', 'third');
  });
});
