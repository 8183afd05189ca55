/**
 * deploy/base applied to the sandbox as an admin would apply it, then both programs run as their
 * ServiceAccounts (tokens from TokenRequest) with only the shipped RBAC: the webhook keeps its own
 * certificate and registration, the binder binds EIPs, and the examples turn Ready with their EIPs. The
 * binder's role with one rule removed fails with a Forbidden its log names.
 *
 * The stand-in's kubelet does not run podeip's own containers yet, so the Deployments are applied with no
 * replicas and the two programs run in this process, with the settings of the applied ConfigMaps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import * as binderProgram from '../../../binder/index.js';
import { loadBinderConfig } from '../../../cli/binder-config.js';
import { DEMO_STATIC_EIP } from '../../../cli/commands/sandbox.js';
import { renderKubeconfig } from '../../../sandbox/kube/kubeconfig.js';
import { startSandbox, type Sandbox } from '../../../sandbox/index.js';
import * as webhookProgram from '../../../webhook/index.js';
import { eventually } from '../binder/kube/support.js';
import { DEPLOY_DIR, KUBECTL, renderKustomization, type KubeObject } from './render.js';

const NAMESPACE = 'podeip-system';

interface Captured {
  lines: Record<string, unknown>[];
  logger: pino.Logger;
}
function capture(name: string): Captured {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ name, level: 'info' }, sink) };
}

let sandbox: Sandbox;
let dir: string;
let adminKubeconfig: string;
const stops: Array<() => Promise<void>> = [];
const binderLog = capture('podeip-binder');
const webhookLog = capture('podeip-webhook');

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

async function tokenKubeconfig(account: string): Promise<string> {
  const token = await kubectl(['-n', NAMESPACE, 'create', 'token', account]);
  expect(token.stderr).toBe('');
  const path = join(dir, `${account}.kubeconfig`);
  await writeFile(
    path,
    renderKubeconfig({
      server: sandbox.kube.url,
      caPem: sandbox.kube.caPem,
      token: token.stdout.trim(),
      namespace: NAMESPACE,
    }),
    { mode: 0o600 },
  );
  return path;
}

function configMapText(objects: KubeObject[], program: 'webhook' | 'binder'): string {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `podeip-${program}`) as
    (KubeObject & { data: Record<string, string> }) | undefined;
  return map!.data[`${program}.yaml`]!;
}

function pod(namespace: string, name: string): KubeObject | undefined {
  return sandbox.kube.store.get(sandbox.kube.store.resourceType('', 'pods')!, namespace, name) as
    KubeObject | undefined;
}
const isReady = (p: KubeObject | undefined): boolean =>
  ((p?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podeip-apply-base-'));
  sandbox = await startSandbox({ installPodEipCrd: false });
  stops.push(() => sandbox.close());
  sandbox.cloud.controls.createEip({ allocationId: DEMO_STATIC_EIP, name: 'static EIP of the example' });
  adminKubeconfig = sandbox.writeFiles(dir).kubeconfig;

  // As shipped, but with no replicas for the stand-in's kubelet to pretend to run.
  const objects = await renderKustomization(join(DEPLOY_DIR, 'base'));
  for (const o of objects)
    if (o.kind === 'Deployment') (o as KubeObject & { spec: { replicas: number } }).spec.replicas = 0;
  const applied = await kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);

  // The webhook: the applied settings, a loopback port, the ServiceAccount's token.
  const webhookSettings = parse(configMapText(objects, 'webhook'));
  webhookSettings.listen = { ...webhookSettings.listen, host: '127.0.0.1', port: 0 };
  webhookSettings.certificates.kubeconfig = await tokenKubeconfig('podeip-webhook');
  const webhookConfig = webhookProgram.validateWebhookConfig(webhookSettings, { podNamespace: NAMESPACE });
  if (!webhookConfig.ok) throw new Error(webhookConfig.problems.join('\n'));
  expect(webhookConfig.config.certificates.mode).toBe('self-managed');
  const webhook = await webhookProgram.start(webhookConfig.config, { logger: webhookLog.logger });
  stops.push(() => webhook.stop());
  const service = { namespace: NAMESPACE, name: webhookConfig.config.certificates.service.name, port: 443 };
  sandbox.mapService(service, { host: '127.0.0.1', port: webhook.port });

  // The binder: the applied settings with the three values an admin fills in, the sandbox's cloud.
  const cloud = sandbox.cloudConnection();
  const binderSettings = parse(configMapText(objects, 'binder'));
  binderSettings.clusterId = 'c0apply0base0test';
  binderSettings.kubeconfig = await tokenKubeconfig('podeip-binder');
  binderSettings.cloud = {
    ...binderSettings.cloud,
    regionId: cloud.regionId,
    vpcId: cloud.vpcId,
    endpoint: cloud.endpoint,
    protocol: cloud.protocol,
    credentials: { source: 'key-file', path: sandbox.writeFiles(dir).cloudJson },
  };
  binderSettings.server = { host: '127.0.0.1', port: 0 };
  const binderFile = join(dir, 'binder.yaml');
  await writeFile(binderFile, stringify(binderSettings));
  const binderConfig = loadBinderConfig({ file: binderFile, env: {}, flags: {} });
  if (!binderConfig.ok) throw new Error(binderConfig.problems.join('\n'));
  const binder = await binderProgram.start(binderConfig.config, { logger: binderLog.logger, processMetrics: false });
  stops.push(() => binder.close());
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await rm(dir, { recursive: true, force: true });
});

describe('deploy/base applied to the sandbox', () => {
  it('runs both programs with only the shipped RBAC: the examples get their EIPs and turn Ready', async () => {
    // The webhook, as podeip-webhook, has written the caBundle into the applied registration.
    await eventually(
      async () => {
        const r = await kubectl([
          'get',
          'mutatingwebhookconfiguration',
          'podeip-webhook',
          '-o',
          'jsonpath={.webhooks[0].clientConfig.caBundle}',
        ]);
        return r.stdout.length > 0 ? true : undefined;
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
    const pods = sandbox.kube.store.resourceType('', 'pods')!;
    const readyWithEip = (p: KubeObject): boolean =>
      isReady(p) && /^\d+\.\d+\.\d+\.\d+$/.test(p.metadata.annotations?.['k8s.aliyun.com/allocated-eipAddress'] ?? '');
    const examples = await eventually(
      () => {
        const all = sandbox.kube.store.list(pods, { namespace: 'default' }).items as KubeObject[];
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
    for (const line of [...binderLog.lines, ...webhookLog.lines])
      expect(JSON.stringify(line)).not.toContain('forbidden');
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
        binderLog.lines
          .map((line) => String((line.err as { message?: unknown } | undefined)?.message ?? ''))
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
