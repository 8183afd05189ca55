/**
 * The demo's webhook part: starts the webhook with a throw-away certificate, sends it the example pods
 * as the API server would, and prints what it injected or why it denied.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import type { Logger } from 'pino';
import { generateCa, generateServingCert } from '../../certs/generate.js';
import { loadConfig } from '../config.js';
import { webhookConfigSchema, webhookSettings } from '../../webhook/config/schema.js';
import { startWebhook } from '../../webhook/server/main.js';

/** The parts of a manifest the tour reads; the rest passes through untouched. */
interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { template?: { metadata?: Record<string, unknown>; spec?: unknown } };
}

/** One JSON Patch operation as the webhook answers it. */
interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

export interface DemoPod {
  /** How the demo names it, e.g. `deployment/web-auto-eip`. */
  label: string;
  namespace: string;
  pod: Record<string, unknown>;
}

/** Pods from the example manifests: a Deployment contributes its pod template, as its ReplicaSet would. */
export function examplePods(examplesDir: string): DemoPod[] {
  const pods: DemoPod[] = [];
  for (const file of readdirSync(examplesDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(examplesDir, file), 'utf8'))) {
      const obj = doc.toJSON() as Manifest | null;
      if (obj === null) continue;
      const name = obj.metadata?.name ?? 'unnamed';
      const namespace = obj.metadata?.namespace ?? 'default';
      if (obj.kind === 'Pod') {
        pods.push({ label: `pod/${name}`, namespace, pod: obj as Record<string, unknown> });
      } else if ((obj.kind === 'Deployment' || obj.kind === 'StatefulSet') && obj.spec?.template) {
        const template = obj.spec.template;
        const owner = obj.kind === 'Deployment' ? 'ReplicaSet' : 'StatefulSet';
        const ownerName = obj.kind === 'Deployment' ? `${name}-7d4b9c` : name;
        pods.push({
          label: `${obj.kind.toLowerCase()}/${name}`,
          namespace,
          pod: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              ...template.metadata,
              name: obj.kind === 'StatefulSet' ? `${name}-0` : '',
              generateName: obj.kind === 'Deployment' ? `${ownerName}-` : undefined,
              namespace,
              ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: ownerName, uid: randomUUID(), controller: true }],
            },
            spec: template.spec,
          },
        });
      }
    }
  }
  return pods;
}

/** Pods that show what the webhook refuses or passes through untouched. */
export function cautionaryPods(): DemoPod[] {
  const pod = (name: string, annotations: Record<string, string>, spec: Record<string, unknown> = {}): DemoPod => ({
    label: `pod/${name}`,
    namespace: 'default',
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', annotations },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
    },
  });
  return [
    pod('plain-no-eip', {}),
    pod('typo-eip', {
      'k8s.aliyun.com/pod-with-eip': 'true',
      'k8s.aliyun.com/eip-bandwidth': '5000',
      'k8s.aliyun.com/eip-isp': 'BGP-PRO',
      'k8s.aliyun.com/eip-internet-charge-type': 'PayByTrafic',
    }),
    pod('host-network-eip', { 'k8s.aliyun.com/pod-with-eip': 'true' }, { hostNetwork: true }),
  ];
}

interface ReviewAnswer {
  allowed: boolean;
  patch: PatchOp[];
  message?: string;
  warnings: string[];
}

function postReview(port: number, caPem: string, body: string): Promise<ReviewAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate-v1-pod?timeout=10s',
        method: 'POST',
        ca: caPem,
        servername: 'podeip-webhook.podeip-system.svc',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            const r = JSON.parse(text).response;
            resolve({
              allowed: r.allowed,
              patch: r.patch ? JSON.parse(Buffer.from(r.patch, 'base64').toString()) : [],
              message: r.status?.message,
              warnings: r.warnings ?? [],
            });
          } catch (err) {
            reject(new Error(`unexpected answer (HTTP ${res.statusCode}): ${text.slice(0, 200)}`, { cause: err }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The first element of an added array, or the added value itself. */
function added<T>(op: PatchOp): T {
  return (Array.isArray(op.value) ? op.value[0] : op.value) as T;
}

function describeOp(op: PatchOp): string {
  if (op.op === 'remove') return `removed ${op.path.replace(/~1/g, '/')}`;
  if (op.path.startsWith('/spec/readinessGates')) {
    return `readiness gate ${added<{ conditionType: string }>(op).conditionType}`;
  }
  if (op.path.startsWith('/spec/volumes')) {
    return `downward-API volume "${added<{ name: string }>(op).name}" (the pod's annotations and labels)`;
  }
  if (op.path.startsWith('/spec/initContainers')) {
    const c = added<{ name: string; image: string }>(op);
    return `init container "${c.name}" (${c.image}), first: waits for k8s.aliyun.com/allocated-eipAddress`;
  }
  return `${op.op} ${op.path}`;
}

/** Runs the tour and writes its report to `out`. Returns false if any answer was not what the demo expects. */
export async function runWebhookTour(options: { examplesDir: string; logger: Logger; out: (line: string) => void }): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-demo-'));
  const { out } = options;
  try {
    const ca = generateCa({ commonName: 'podeip demo CA', validityDays: 1 });
    const serving = generateServingCert({
      ca,
      commonName: 'podeip-webhook.podeip-system.svc',
      dnsNames: ['podeip-webhook.podeip-system.svc'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    writeFileSync(join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
    const loaded = loadConfig({
      schema: webhookConfigSchema,
      settings: webhookSettings,
      flags: { 'tls-cert': join(dir, 'tls.crt'), 'tls-key': join(dir, 'tls.key'), port: '0', host: '127.0.0.1' },
      env: {},
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const webhook = await startWebhook(loaded.config, options.logger);
    out(`webhook listening on https://127.0.0.1:${webhook.port}/mutate-v1-pod (TLS ${loaded.config.tls.minVersion}+, throw-away CA)`);
    let asExpected = true;
    try {
      const cases = [...examplePods(options.examplesDir), ...cautionaryPods()];
      for (const c of cases) {
        const uid = randomUUID();
        const review = {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid,
            kind: { group: '', version: 'v1', kind: 'Pod' },
            resource: { group: '', version: 'v1', resource: 'pods' },
            requestKind: { group: '', version: 'v1', kind: 'Pod' },
            requestResource: { group: '', version: 'v1', resource: 'pods' },
            name: (c.pod.metadata as { name?: string }).name ?? '',
            namespace: c.namespace,
            operation: 'CREATE',
            userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
            object: c.pod,
            oldObject: null,
            dryRun: false,
            options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
          },
        };
        const answer = await postReview(webhook.port, ca.certPem, JSON.stringify(review));
        out('');
        if (!answer.allowed) {
          out(`${c.label}: DENIED`);
          out(`  ${answer.message ?? '(no message)'}`);
        } else if (answer.patch.length === 0) {
          out(`${c.label}: allowed unchanged`);
        } else {
          out(`${c.label}: allowed, patched with ${answer.patch.length} operation(s):`);
          for (const op of answer.patch) out(`  + ${describeOp(op)}`);
        }
        for (const w of answer.warnings) out(`  warning: ${w}`);
        const expectDenied = c.label === 'pod/typo-eip' || c.label === 'pod/host-network-eip';
        const expectUnchanged = c.label === 'pod/plain-no-eip';
        if (expectDenied === answer.allowed || (expectUnchanged && answer.patch.length > 0)) asExpected = false;
      }
    } finally {
      await webhook.close();
    }
    return asExpected;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
