/**
 * deploy/ applied to the sandbox as an admin applies it (the access-key overlay, which is the base plus the
 * Secret for the binder's key, with the three values an admin fills in), and the shipped Deployments run by
 * the stand-in's kubelet as processes: both programs run as their ServiceAccounts with only the shipped
 * RBAC, in-cluster, the webhook reached through its Service. The webhook keeps its own certificate and
 * registration, the binder binds EIPs, and the examples turn Ready with their EIPs. The binder's role with
 * one rule removed fails with a Forbidden its log names.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DEMO_STATIC_EIP, podeipLocalImage } from '../../../cli/commands/sandbox.js';
import { fillInForSandbox } from '../../../cli/demo/world.js';
import { processIsolationProblem } from '../../../sandbox/kube/cluster/index.js';
import { startSandbox, type Sandbox } from '../../../sandbox/index.js';
import { eventually } from '../binder/kube/support.js';
import { DEPLOY_DIR, KUBECTL, renderKustomization, type KubeObject } from './render.js';

const NAMESPACE = 'podeip-system';

/** Each program's log lines, as its containers wrote them. */
const logs: Record<string, Record<string, unknown>[]> = { binder: [], webhook: [] };

let sandbox: Sandbox;
let dir: string;
let adminKubeconfig: string;

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', adminKubeconfig, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

/** The registration's caBundle; empty while it has none or is gone. */
async function caBundle(): Promise<string> {
  const path = 'jsonpath={.webhooks[0].clientConfig.caBundle}';
  const r = await kubectl(['get', 'mutatingwebhookconfiguration', 'podeip-webhook', '-o', path]);
  return r.code === 0 ? r.stdout : '';
}

function pods(namespace: string): KubeObject[] {
  return sandbox.kube.store.list(sandbox.kube.store.resourceType('', 'pods')!, { namespace }).items as KubeObject[];
}
function pod(namespace: string, name: string): KubeObject | undefined {
  return pods(namespace).find((p) => p.metadata.name === name);
}
const isReady = (p: KubeObject | undefined): boolean =>
  ((p?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

beforeAll(async () => {
  // These machines run as root with Linux namespaces; anywhere else this says why it cannot run.
  expect(processIsolationProblem()).toBeUndefined();
  dir = await mkdtemp(join(tmpdir(), 'podeip-apply-base-'));
  sandbox = await startSandbox({
    installPodEipCrd: false,
    cluster: {
      processes: {
        // podeip's image as deploy/image lays it out: this checkout at /opt/podeip, run as 65532.
        images: podeipLocalImage(),
        onOutput: (_pod, container, line) => {
          if (line.startsWith('{')) logs[container]?.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    },
  });
  sandbox.cloud.controls.createEip({ allocationId: DEMO_STATIC_EIP, name: 'static EIP of the example' });
  adminKubeconfig = sandbox.writeFiles(dir).kubeconfig;

  // As shipped, with what an admin writes in: the binder's three values (here: the stand-in's region, VPC
  // and endpoint) and the key in credentials.json.
  const objects = await renderKustomization(join(DEPLOY_DIR, 'overlays', 'access-key'));
  fillInForSandbox(objects, sandbox, 'c0apply0base0test');
  const applied = await kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('deploy/base applied to the sandbox', () => {
  it('runs both programs with only the shipped RBAC: the examples get their EIPs and turn Ready', async () => {
    // Two replicas of each, Ready by their probes, as the Deployments ask.
    const running = await eventually(
      () => {
        const own = pods(NAMESPACE);
        return own.length === 4 && own.every(isReady) ? own : undefined;
      },
      60_000,
      "podeip's four pods Ready",
    );
    for (const p of running)
      expect((p.spec as { serviceAccountName: string }).serviceAccountName).toMatch(/^podeip-(webhook|binder)$/);
    // The webhook, as podeip-webhook, has written the caBundle into the applied registration.
    await eventually(
      async () => {
        return (await caBundle()).length > 0 ? true : undefined;
      },
      30_000,
      'the caBundle written by the webhook',
    );
    const secret = await kubectl(['-n', NAMESPACE, 'get', 'secret', 'podeip-webhook-tls', '-o', 'jsonpath={.type}']);
    expect(secret.stdout).toBe('kubernetes.io/tls');

    for (const example of ['deployment-auto-eip.yaml', 'pod-static-eip.yaml']) {
      const r = await kubectl(['apply', '-f', '-'], await readFile(join(DEPLOY_DIR, 'examples', example), 'utf8'));
      expect(r).toMatchObject({ code: 0, stderr: '' });
    }
    const readyWithEip = (p: KubeObject): boolean =>
      isReady(p) && /^\d+\.\d+\.\d+\.\d+$/.test(p.metadata.annotations?.['k8s.aliyun.com/allocated-eipAddress'] ?? '');
    const examples = await eventually(
      () => {
        const all = pods('default');
        return all.length === 3 && all.every(readyWithEip) ? all : undefined;
      },
      60_000,
      'three example pods Ready with their EIPs',
    );
    // The webhook admitted them: each carries the readiness gate.
    for (const p of examples)
      expect((p.spec as { readinessGates?: { conditionType: string }[] }).readinessGates).toContainEqual({
        conditionType: 'k8s.aliyun.com/eip',
      });
    expect(
      pod('default', 'gateway-static-eip')?.metadata.annotations?.['k8s.aliyun.com/allocated-eipAddress'],
    ).toBeDefined();
    // Both programs ran in-cluster as their ServiceAccounts and were never refused.
    expect(logs.binder!.some((line) => line.msg === 'binder started')).toBe(true);
    for (const line of [...logs.binder!, ...logs.webhook!]) expect(JSON.stringify(line)).not.toContain('forbidden');
  });

  it('has the running webhook pods put back a deleted registration', async () => {
    const started = Date.now();
    expect((await kubectl(['delete', 'mutatingwebhookconfiguration', 'podeip-webhook'])).code).toBe(0);
    await eventually(
      async () => {
        return (await caBundle()).length > 0 ? true : undefined;
      },
      30_000,
      'the registration recreated by the webhook pods',
    );
    process.stdout.write(`registration deleted: recreated by the webhook's pods in ${Date.now() - started} ms\n`);
    // And it admits again: a pod asking for an EIP gets its gate.
    const created = await kubectl([
      'run',
      'after-repair',
      '--image',
      'nginx:1.27',
      '--annotations',
      'k8s.aliyun.com/pod-with-eip=true',
    ]);
    expect(created.code).toBe(0);
    expect((pod('default', 'after-repair')!.spec as { readinessGates?: unknown[] }).readinessGates).toEqual([
      { conditionType: 'k8s.aliyun.com/eip' },
    ]);
  });

  it('fails with a Forbidden the binder names when its role misses the pods/status rule', async () => {
    const role = JSON.parse((await kubectl(['get', 'clusterrole', 'podeip-binder', '-o', 'json'])).stdout) as {
      rules: { resources: string[] }[];
      metadata: Record<string, unknown>;
    };
    role.rules = role.rules.filter((rule) => !rule.resources.includes('pods/status'));
    role.metadata = { name: 'podeip-binder' };
    expect((await kubectl(['replace', '-f', '-'], JSON.stringify(role))).code).toBe(0);

    const created = await kubectl([
      'run',
      'no-status-rights',
      '--image',
      'nginx:1.27',
      '--annotations',
      'k8s.aliyun.com/pod-with-eip=true',
    ]);
    expect(created.code).toBe(0);
    // client-node's error carries the Status as text: the log line quotes kube-apiserver's refusal.
    const refusal = await eventually(
      () =>
        logs
          .binder!.map((line) => String((line.err as { message?: unknown } | undefined)?.message ?? ''))
          .find((message) => message.includes('no-status-rights') && message.includes('is forbidden')),
      60_000,
      "the binder's Forbidden",
    );
    const unescaped = refusal.replace(/\\+"/g, '"');
    expect(unescaped).toContain(
      'pods "no-status-rights" is forbidden: User "system:serviceaccount:podeip-system:podeip-binder" cannot patch ' +
        'resource "pods/status" in API group "" in the namespace "default"',
    );
    expect(isReady(pod('default', 'no-status-rights'))).toBe(false);
  });
});
