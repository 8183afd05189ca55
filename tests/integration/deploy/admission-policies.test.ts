/**
 * deploy/base's ValidatingAdmissionPolicies, applied to the sandbox as shipped, against a tenant with
 * ordinary rights in its namespace (pods, pods/status and PodEIPs, as the attacks assumed) and no webhook
 * registered at all: each way of faking readiness or forging a record is refused with its message, while
 * the binder's ServiceAccount does the same writes and the tenant's own harmless writes pass. Last, the
 * shipped EIPPolicy CRD as kubectl shows it: printer columns, and its schema's limits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { EIP_ANNOTATION_KEYS } from '../../../api/annotations.js';
import { startHarness, type Harness } from '../sandbox/kube/harness.js';
import { DEPLOY_DIR, renderKustomization } from './render.js';

const TENANT = ['--as', 'system:serviceaccount:team-a:tenant'];
const BINDER = ['--as', 'system:serviceaccount:podeip-system:podeip-binder'];
const ADDRESS = 'k8s.aliyun.com/allocated-eipAddress';

let h: Harness;

async function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return h.kubectl(args, input === undefined ? {} : { input });
}

async function ok(args: string[], input?: string): Promise<void> {
  const r = await run(args, input);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** The write is refused by the named policy, and says why. */
async function refused(args: string[], policy: string, why: string, input?: string): Promise<void> {
  const r = await run(args, input);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: ${why}`);
}

function pod(name: string, annotations: Record<string, string> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'team-a', annotations },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
  });
}

function podEip(name: string): string {
  return stringify({
    apiVersion: 'alibabacloud.com/v1beta1',
    kind: 'PodEIP',
    metadata: {
      name,
      namespace: 'team-a',
      labels: { 'app.kubernetes.io/managed-by': 'podeip' },
      annotations: { 'podeip.io/pod-uid': `uid-${name}` },
    },
    spec: { allocationID: 'eip-someone-elses', allocationType: { type: 'Auto', releaseStrategy: 'Follow' } },
  });
}

beforeAll(async () => {
  h = await startHarness();
  const base = await renderKustomization(join(DEPLOY_DIR, 'base'));
  const wanted = [
    'Namespace',
    'CustomResourceDefinition',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ];
  const shipped = base
    .filter((o) => wanted.includes(o.kind))
    .sort((a, b) => wanted.indexOf(a.kind) - wanted.indexOf(b.kind));
  expect(shipped.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')).toHaveLength(3);
  await ok(['create', '-f', '-'], shipped.map((o) => stringify(o)).join('---\n'));
  await ok(
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tenant, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: podeip-binder, namespace: podeip-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-and-podeips}
rules:
  - {apiGroups: [''], resources: [pods, pods/status], verbs: ['*']}
  - {apiGroups: [alibabacloud.com], resources: [podeips, podeips/status], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tenant, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-and-podeips}
subjects: [{kind: ServiceAccount, name: tenant, namespace: team-a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: binder}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-and-podeips}
subjects: [{kind: ServiceAccount, name: podeip-binder, namespace: podeip-system}]
`,
  );
  // The pods of the attacks: one that never asked for an EIP, one that asked and is still waiting.
  await ok([...TENANT, 'create', '-f', '-'], pod('plain'));
  await ok(
    [...TENANT, 'create', '-f', '-'],
    pod('waiting', { 'k8s.aliyun.com/pod-with-eip': 'true', 'k8s.aliyun.com/eip-bandwidth': '5' }),
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('podeip-records: only the binder writes PodEIPs', () => {
  it('refuses a PodEIP a tenant makes by hand, and takes the binder’s', async () => {
    await refused(
      [...TENANT, 'create', '-f', '-'],
      'podeip-records',
      "only podeip's binder creates PodEIPs",
      podEip('ghost'),
    );
    await ok([...BINDER, 'create', '-f', '-'], podEip('waiting'));
  });

  it('refuses a tenant’s change of spec, status or podeip’s marks, and leaves other metadata and deletion open', async () => {
    await ok([...BINDER, 'create', '-f', '-'], podEip('kept'));
    const spec = '{"spec":{"allocationID":"eip-another"}}';
    await refused(
      [...TENANT, '-n', 'team-a', 'patch', 'podeip', 'kept', '--type=merge', '-p', spec],
      'podeip-records',
      "only podeip's binder changes a PodEIP's spec",
    );
    const status = '{"status":{"networkInterfaceID":"eni-forged","privateIPAddress":"10.0.0.9"}}';
    await refused(
      [...TENANT, '-n', 'team-a', 'patch', 'podeip', 'kept', '--subresource=status', '--type=merge', '-p', status],
      'podeip-records',
      "only podeip's binder changes a PodEIP's status",
    );
    await ok([
      ...BINDER,
      '-n',
      'team-a',
      'patch',
      'podeip',
      'kept',
      '--subresource=status',
      '--type=merge',
      '-p',
      status,
    ]);
    // podeip's marks say whose a record is: a tenant can neither strip nor forge them.
    for (const change of [
      ['label', 'podeip', 'kept', 'app.kubernetes.io/managed-by-'],
      ['annotate', 'podeip', 'kept', '--overwrite', 'podeip.io/pod-uid=forged-uid'],
      ['annotate', 'podeip', 'kept', 'podeip.io/allocation-attempt=7'],
    ])
      await refused([...TENANT, '-n', 'team-a', ...change], 'podeip-records', "only podeip's binder changes its marks");
    await ok([
      ...BINDER,
      '-n',
      'team-a',
      'annotate',
      'podeip',
      'kept',
      '--overwrite',
      'podeip.io/pod-uid=uid-of-the-pod',
    ]);
    await ok([...TENANT, '-n', 'team-a', 'label', 'podeip', 'kept', 'team=a']);
    await ok([...TENANT, '-n', 'team-a', 'delete', 'podeip', 'kept']);
  });
});

describe('podeip-pod-readiness: only the binder says a pod’s EIP is ready', () => {
  it('refuses allocated-eipAddress from a tenant, on a running pod or a new one; the binder may write it', async () => {
    await refused(
      [...TENANT, '-n', 'team-a', 'annotate', 'pod', 'waiting', `${ADDRESS}=6.6.6.6`],
      'podeip-pod-readiness',
      `only podeip's binder sets the annotation ${ADDRESS}`,
    );
    await refused(
      [...TENANT, 'create', '-f', '-'],
      'podeip-pod-readiness',
      `only podeip's binder sets the annotation ${ADDRESS}`,
      pod('pre-filled', { 'k8s.aliyun.com/pod-with-eip': 'true', [ADDRESS]: '6.6.6.6' }),
    );
    await ok([...BINDER, '-n', 'team-a', 'annotate', 'pod', 'waiting', `${ADDRESS}=203.0.113.7`]);
    // Once written, the tenant can neither change nor remove it.
    await refused(
      [...TENANT, '-n', 'team-a', 'annotate', 'pod', 'waiting', `${ADDRESS}-`],
      'podeip-pod-readiness',
      `only podeip's binder sets the annotation ${ADDRESS}`,
    );
    await ok([...TENANT, '-n', 'team-a', 'annotate', 'pod', 'waiting', 'owner=team-a']);
  });

  it('refuses the k8s.aliyun.com/eip condition from a tenant; other conditions and the binder pass', async () => {
    /** `who` sets condition `type` True on the waiting pod through pods/status. */
    const setCondition = (who: string[], type: string): string[] => [
      ...who,
      '-n',
      'team-a',
      'patch',
      'pod',
      'waiting',
      '--subresource=status',
      '-p',
      JSON.stringify({ status: { conditions: [{ type, status: 'True', reason: 'Associate eip succeed' }] } }),
    ];
    await refused(
      setCondition(TENANT, 'k8s.aliyun.com/eip'),
      'podeip-pod-readiness',
      "only podeip's binder sets the pod condition k8s.aliyun.com/eip",
    );
    await ok(setCondition(TENANT, 'example.com/mine'));
    await ok(setCondition(BINDER, 'k8s.aliyun.com/eip'));
    const conditions = JSON.parse((await run(['-n', 'team-a', 'get', 'pod', 'waiting', '-o', 'json'])).stdout).status
      .conditions as { type: string }[];
    expect(conditions.map((c) => c.type)).toEqual(expect.arrayContaining(['example.com/mine', 'k8s.aliyun.com/eip']));
  });
});

describe('podeip-pod-request: a pod’s EIP request is fixed at creation', () => {
  it('refuses EIP annotations added to a pod created without them', async () => {
    for (const key of ['k8s.aliyun.com/pod-with-eip=true', 'network.alibabacloud.com/pod-eip-instanceid=eip-x'])
      await refused(
        [...TENANT, '-n', 'team-a', 'annotate', 'pod', 'plain', key],
        'podeip-pod-request',
        'EIP annotations can only be given when a pod is created',
      );
    await ok([...TENANT, '-n', 'team-a', 'annotate', 'pod', 'plain', 'note=not-an-eip']);
  });

  it('lets only the release strategy of a request change', async () => {
    await refused(
      [...TENANT, '-n', 'team-a', 'annotate', 'pod', 'waiting', '--overwrite', 'k8s.aliyun.com/eip-bandwidth=1000'],
      'podeip-pod-request',
      "of a pod's EIP request only the release strategy (pod-eip-release-strategy) may change",
    );
    await refused(
      [...TENANT, '-n', 'team-a', 'annotate', 'pod', 'waiting', 'k8s.aliyun.com/eip-instance-charge-type=PrePaid'],
      'podeip-pod-request',
      "of a pod's EIP request only the release strategy (pod-eip-release-strategy) may change",
    );
    await ok([
      ...TENANT,
      '-n',
      'team-a',
      'annotate',
      'pod',
      'waiting',
      'k8s.aliyun.com/pod-eip-release-strategy=Never',
    ]);
    await ok([
      ...TENANT,
      '-n',
      'team-a',
      'annotate',
      'pod',
      'waiting',
      '--overwrite',
      'k8s.aliyun.com/pod-eip-release-strategy=Follow',
    ]);
  });

  it('names every EIP annotation the webhook knows, so none can be slipped in later', () => {
    const file = readFileSync(join(DEPLOY_DIR, 'base', 'admission-policies.yaml'), 'utf8');
    const policy = parseAllDocuments(file)
      .map(
        (d) =>
          d.toJS() as {
            metadata: { name: string };
            kind: string;
            spec: { variables: { name: string; expression: string }[] };
          },
      )
      .find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === 'podeip-pod-request')!;
    const list = (name: string): string[] =>
      parse(policy.spec.variables.find((v) => v.name === name)!.expression.replace(/'/g, '"')) as string[];
    expect(new Set([...list('requestKeys'), ...list('strategyKeys')])).toEqual(new Set(EIP_ANNOTATION_KEYS));
    expect(list('strategyKeys').every((k) => k.endsWith('/pod-eip-release-strategy'))).toBe(true);
  });
});

describe('the EIPPolicy resource, as kubectl shows it', () => {
  it('lists policies with their printer columns, and refuses one its schema does not allow', async () => {
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: podeip.io/v1alpha1
kind: EIPPolicy
metadata: {name: tenants}
spec:
  namespaces: [team-a]
  allocation: {maxBandwidthMbps: 50, allowPrePaid: false}
  maxEipsPerNamespace: 3
`,
    );
    const listed = await run(['get', 'eippolicies']);
    expect(listed.stderr).toBe('');
    const [header, row] = listed.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual([
      'NAME',
      'NAMESPACES',
      'SELECTOR',
      'MAX EIPS',
      'MAX MBIT/S',
      'PREPAID',
      'AGE',
    ]);
    // No selector: its cell is empty.
    expect(row).toMatch(/^tenants\s+\["team-a"\]\s+3\s+50\s+false\s+\S+$/);
    const bad = await run(
      ['apply', '-f', '-'],
      'apiVersion: podeip.io/v1alpha1\nkind: EIPPolicy\nmetadata: {name: bad}\nspec: {allocation: {maxBandwidthMbps: 0}}\n',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec.allocation.maxBandwidthMbps');
  });
});

describe('where the pod policies apply', () => {
  it('leaves kube-system out, as the webhook does', async () => {
    await ok(
      ['create', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'system', namespace: 'kube-system' },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
      }),
    );
    await ok(['-n', 'kube-system', 'annotate', 'pod', 'system', `${ADDRESS}=192.0.2.1`]);
  });
});
