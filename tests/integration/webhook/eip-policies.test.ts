/**
 * The webhook with eipPolicies enabled, reading EIPPolicies, namespaces and PodEIPs from the Kubernetes
 * stand-in through its own list-watches: /readyz waits until they are loaded; real AdmissionReviews over
 * HTTPS are denied with the policy's reason when a namespace may not have what its pod asks for (a
 * namespace no policy selects, 1,000 Mbit/s, PrePaid, a static EIP the policy does not list, one past the
 * namespace's count), allowed otherwise, and a policy written a moment ago holds at once. A static EIP a
 * policy allows only by tag passes to the binder, which asks the cloud.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eipPolicyCustomResourceDefinition } from '../../../api/eip-policy.js';
import { podEipCustomResourceDefinition } from '../../../api/podeip.js';
import { startKubeSandbox, type KubeSandbox } from '../../../sandbox/kube/index.js';
import { eventually } from '../sandbox/kube/harness.js';
import { admissionFixture, callWebhook, startTlsWebhook, type TlsWebhook } from './support.js';

let kube: KubeSandbox;
let webhook: TlsWebhook;
let dir: string;

const type = (group: string, plural: string) => kube.store.resourceType(group, plural)!;

async function writePolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  const policies = type('podeip.io', 'eippolicies');
  const current = kube.store.get(policies, undefined, name);
  const object = { apiVersion: 'podeip.io/v1alpha1', kind: 'EIPPolicy', metadata: { name }, spec };
  if (current === undefined) await kube.api.create(policies, undefined, object);
  else await kube.api.update(policies, undefined, name, { ...object, metadata: current.metadata });
}

/** Waits until the webhook's caches show what was just written; `check` is true once they do. */
const until = (check: () => Promise<boolean>): Promise<true> =>
  eventually(async () => ((await check()) ? true : undefined), 10_000);

/** A CREATE of a pod in `namespace` with these annotations, as kube-apiserver sends it. */
function review(namespace: string, name: string, annotations: Record<string, string>) {
  const fixture = admissionFixture('deployment-pod-auto.json');
  const pod = fixture.request.object as { metadata: Record<string, unknown> };
  return {
    ...fixture,
    request: {
      ...fixture.request,
      uid: `uid-${name}`,
      namespace,
      name,
      object: { ...pod, metadata: { ...pod.metadata, name, namespace, annotations } },
    },
  };
}

async function admit(
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<{ allowed: boolean; status?: { code: number; message: string } }> {
  const answer = await callWebhook(webhook, '/mutate-v1-pod', {
    body: JSON.stringify(review(namespace, name, annotations)),
  });
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body) as { response: { allowed: boolean; status?: { code: number; message: string } } })
    .response;
}

const AUTO = { 'k8s.aliyun.com/pod-with-eip': 'true' };

beforeAll(async () => {
  kube = await startKubeSandbox();
  const crds = type('apiextensions.k8s.io', 'customresourcedefinitions');
  for (const crd of [podEipCustomResourceDefinition(), eipPolicyCustomResourceDefinition()])
    await kube.api.create(crds, undefined, crd);
  const namespaces = type('', 'namespaces');
  await kube.api.create(namespaces, undefined, { metadata: { name: 'team-a', labels: { tier: 'tenant' } } });
  await kube.api.create(namespaces, undefined, { metadata: { name: 'team-b' } });
  dir = mkdtempSync(join(tmpdir(), 'podeip-webhook-policies-'));
  writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig(), { mode: 0o600 });
  webhook = await startTlsWebhook({ eipPolicies: { enabled: true, kubeconfig: join(dir, 'kubeconfig') } });
});

afterAll(async () => {
  await webhook?.stop();
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EIPPolicies at admission', () => {
  it('is ready once the policies are loaded, and allows everything while the cluster has none', async () => {
    await until(async () => (await callWebhook(webhook, '/readyz')).status === 200);
    expect(await admit('team-b', 'fast', { ...AUTO, 'k8s.aliyun.com/eip-bandwidth': '200' })).toMatchObject({
      allowed: true,
    });
  });

  it('denies what the policies do not allow, with the reason, as soon as a policy is written', async () => {
    await writePolicy('tenants', {
      namespaceSelector: { matchLabels: { tier: 'tenant' } },
      allocation: { maxBandwidthMbps: 10 },
      staticEips: { allocationIds: ['eip-teama1'], tags: { team: 'a' } },
      maxEipsPerNamespace: 1,
    });
    await until(async () => (await admit('team-b', 'probe', AUTO)).allowed === false);
    expect(await admit('team-b', 'unselected', AUTO)).toMatchObject({
      allowed: false,
      status: { code: 403, message: 'no EIPPolicy lets namespace team-b use EIPs' },
    });
    expect(await admit('team-a', 'too-fast', { ...AUTO, 'k8s.aliyun.com/eip-bandwidth': '200' })).toMatchObject({
      allowed: false,
      status: {
        message:
          'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants allows at most 10 Mbit/s, not 200',
      },
    });
    expect(
      await admit('team-a', 'prepaid', {
        ...AUTO,
        'k8s.aliyun.com/eip-instance-charge-type': 'PrePaid',
        'k8s.aliyun.com/eip-internet-charge-type': 'PayByBandwidth',
      }),
    ).toMatchObject({
      allowed: false,
      status: { message: expect.stringContaining('EIPPolicy tenants allows no PrePaid EIP') },
    });
    // Allowed: within the ceiling; a static EIP listed by id; one known only by tag goes on to the binder.
    expect(await admit('team-a', 'slow', AUTO)).toMatchObject({ allowed: true });
    expect(await admit('team-a', 'listed', { 'k8s.aliyun.com/pod-eip-instanceid': 'eip-teama1' })).toMatchObject({
      allowed: true,
    });
    expect(await admit('team-a', 'by-tag', { 'k8s.aliyun.com/pod-eip-instanceid': 'eip-othertagged' })).toMatchObject({
      allowed: true,
    });
  });

  it('counts the PodEIPs the namespace holds, except the pod’s own', async () => {
    const podEips = type('alibabacloud.com', 'podeips');
    await kube.api.create(podEips, 'team-a', {
      apiVersion: 'alibabacloud.com/v1beta1',
      kind: 'PodEIP',
      metadata: { name: 'holder', namespace: 'team-a' },
      spec: { allocationID: 'eip-held', allocationType: { type: 'Auto', releaseStrategy: 'Never' } },
    });
    await until(async () => (await admit('team-a', 'probe', AUTO)).allowed === false);
    expect(await admit('team-a', 'one-more', AUTO)).toMatchObject({
      allowed: false,
      status: {
        message:
          'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants allows 1 EIPs per namespace and namespace team-a holds 1',
      },
    });
    // A pod of the record's own name (a StatefulSet pod coming back to its Never EIP) is not counted twice.
    expect(await admit('team-a', 'holder', AUTO)).toMatchObject({ allowed: true });
    // Pods that ask for no EIP are never checked.
    expect(await admit('team-b', 'plain', {})).toMatchObject({ allowed: true });
  });
});
