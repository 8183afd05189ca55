/**
 * The whole admission path with the real programs: kubectl → the Kubernetes stand-in → this dispatcher
 * → podeip's own webhook (startWebhook, real HTTPS, configured as `podeip webhook` is) and back. Pods come
 * back patched, bad annotations are refused with every problem named, warnings reach kubectl, and a
 * stopped webhook refuses pods under failurePolicy Fail and lets them through unpatched under Ignore.
 */
import { validateWebhookConfig } from '../../../../webhook/config/validate.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../../cli/config.js';
import { generateServingCert } from '../../../../certs/generate.js';
import { createWebhookAdmission, type WebhookAdmission } from '../../../../sandbox/kube/admission/index.js';
import { webhookSettings } from '../../../../webhook/config/schema.js';
import type { WebhookConfig } from '../../../../webhook/config/types.js';
import { start as startWebhook, type RunningWebhook } from '../../../../webhook/index.js';
import { startHarness, type Harness } from '../kube/harness.js';
import { caBundleOf, podeipMatchCondition, trustedCa } from './support.js';

const SERVICE = { namespace: 'podeip-system', name: 'podeip-webhook' };
const WEBHOOK_NAME = 'pods.podeip.alibabacloud.com';

const dir = mkdtempSync(join(tmpdir(), 'podeip-admission-'));
let webhook: RunningWebhook;
let h: Harness;
let chain: WebhookAdmission;
/** podeip's log lines: one per admission it decides, with the pod's name. */
const webhookLogs: Array<Record<string, unknown>> = [];

let webhookConfig: WebhookConfig;
const startPodeipWebhook = () =>
  startWebhook(webhookConfig, {
    logger: pino({ level: 'debug' }, { write: (line: string) => void webhookLogs.push(JSON.parse(line)) }),
  });

beforeAll(async () => {
  const pair = generateServingCert({
    ca: trustedCa,
    commonName: `${SERVICE.name}.${SERVICE.namespace}.svc`,
    dnsNames: [`${SERVICE.name}.${SERVICE.namespace}.svc`],
    ipAddresses: [],
    validityDays: 1,
  });
  writeFileSync(join(dir, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, 'tls.key'), pair.keyPem);
  const loaded = loadConfig<WebhookConfig>({
    check: (raw, sourceOf) => validateWebhookConfig(raw, { sourceOf }),
    settings: webhookSettings,
    flags: { 'tls-cert': join(dir, 'tls.crt'), 'tls-key': join(dir, 'tls.key'), port: '0', host: '127.0.0.1' },
    env: {},
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  webhookConfig = loaded.config;
  webhook = await startPodeipWebhook();

  h = await startHarness();
  chain = createWebhookAdmission({
    store: h.sandbox.store,
    // The port of the webhook running now: the test that stops it starts a new one afterwards.
    resolveService: (ref) =>
      ref.namespace === SERVICE.namespace && ref.name === SERVICE.name && ref.port === 443
        ? { host: '127.0.0.1', port: webhook.port }
        : undefined,
  });
  h.sandbox.setAdmission(chain);

  const configuration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'podeip' },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        clientConfig: { service: { ...SERVICE, path: '/mutate-v1-pod' }, caBundle: caBundleOf(trustedCa) },
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
        ],
        matchConditions: [podeipMatchCondition()],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
      },
    ],
  };
  const applied = await h.kubectl(['apply', '-f', await h.manifest('webhook.json', JSON.stringify(configuration))]);
  expect(applied.stdout.trim()).toBe('mutatingwebhookconfiguration.admissionregistration.k8s.io/podeip created');
});

afterAll(async () => {
  chain?.close();
  await webhook?.close();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const podYaml = (name: string, annotations: Record<string, string>, initContainers: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
${initContainers}  containers:
  - name: app
    image: nginx:1.27
`;

const MIGRATE_INIT_CONTAINER = `  initContainers:
  - name: migrate
    image: busybox:1.36.1
`;

async function createPod(name: string, annotations: Record<string, string> = {}, initContainers = '') {
  const file = await h.manifest(`${name}.yaml`, podYaml(name, annotations, initContainers));
  return { file, result: await h.kubectl(['create', '-f', file]) };
}

async function storedPod(name: string): Promise<{
  spec: Record<string, unknown> & { initContainers?: Array<{ name: string }>; volumes?: Array<{ name: string }> };
}> {
  const got = await h.kubectl(['get', 'pod', name, '-o', 'json']);
  expect(got.code).toBe(0);
  return JSON.parse(got.stdout);
}

describe('podeip behind the stand-in', () => {
  it('patches a pod that asks for an EIP: readiness gate, volume, init container first', async () => {
    const { result } = await createPod('web', { 'k8s.aliyun.com/pod-with-eip': 'true' }, MIGRATE_INIT_CONTAINER);
    expect(result).toMatchObject({ code: 0, stdout: 'pod/web created\n', stderr: '' });
    const pod = await storedPod('web');
    expect(pod.spec.readinessGates).toEqual([{ conditionType: 'k8s.aliyun.com/eip' }]);
    expect(pod.spec.volumes?.map((v) => v.name)).toContain('podeip-podinfo');
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(['podeip-wait-eip', 'migrate']);
    expect(webhookLogs.some((line) => line.pod === 'web' && line.decision === 'patched')).toBe(true);
  });

  it('leaves a pod that asks for nothing alone, without calling podeip', async () => {
    const { result } = await createPod('plain');
    expect(result.stdout.trim()).toBe('pod/plain created');
    expect(webhookLogs.filter((line) => line.pod === 'plain')).toEqual([]);
    const pod = await storedPod('plain');
    expect(pod.spec.readinessGates).toBeUndefined();
    expect(pod.spec.initContainers).toBeUndefined();
  });

  it('refuses bad annotations with the webhook’s message naming each problem', async () => {
    const { file, result } = await createPod('typo', {
      'k8s.aliyun.com/pod-with-eip': 'true',
      'k8s.aliyun.com/eip-bandwidth': 'fast',
      'k8s.aliyun.com/eip-internet-charge-type': 'Monthly',
    });
    expect(result.code).toBe(1);
    const error = result.stderr.trim();
    expect(
      error.startsWith(
        `Error from server (Forbidden): error when creating "${file}": pods "typo" is forbidden: admission webhook "${WEBHOOK_NAME}" denied the request: podeip: `,
      ),
    ).toBe(true);
    expect(error).toContain('k8s.aliyun.com/eip-bandwidth="fast"');
    expect(error).toContain('k8s.aliyun.com/eip-internet-charge-type="Monthly"');
    expect((await h.kubectl(['get', 'pod', 'typo'])).stderr.trim()).toBe(
      'Error from server (NotFound): pods "typo" not found',
    );
  });

  it('passes the webhook’s warnings to kubectl', async () => {
    const { result } = await createPod('static', {
      'k8s.aliyun.com/pod-eip-instanceid': 'eip-demostatic01',
      'k8s.aliyun.com/eip-bandwidth': '10',
    });
    expect(result.stdout.trim()).toBe('pod/static created');
    expect(result.stderr).toMatch(
      /^Warning: podeip: k8s\.aliyun\.com\/pod-eip-instanceid binds an existing EIP, so these options, .* are ignored: k8s\.aliyun\.com\/eip-bandwidth\.$/m,
    );
  });

  it('with the webhook stopped, refuses EIP pods under failurePolicy Fail and creates them unpatched under Ignore', async () => {
    await webhook.close();
    try {
      await refusedThenIgnored();
    } finally {
      // The other tests need podeip running under Fail, whichever order they run in.
      webhook = await startPodeipWebhook();
      await h.kubectl([
        'patch',
        'mutatingwebhookconfiguration',
        'podeip',
        '--type=json',
        '-p',
        '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]',
      ]);
    }
  });

  async function refusedThenIgnored(): Promise<void> {
    const { file, result } = await createPod('down', { 'k8s.aliyun.com/pod-with-eip': 'true' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Error from server (InternalError): error when creating "${file}": Internal error occurred: failed calling webhook "${WEBHOOK_NAME}": ` +
        `failed to call webhook: Post "https://podeip-webhook.podeip-system.svc:443/mutate-v1-pod?timeout=5s": dial tcp 127.0.0.1:${webhook.port}: connect: connection refused`,
    );
    expect((await createPod('still-plain')).result.stdout.trim()).toBe('pod/still-plain created');

    const patched = await h.kubectl([
      'patch',
      'mutatingwebhookconfiguration',
      'podeip',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]',
    ]);
    expect(patched.stdout.trim()).toBe('mutatingwebhookconfiguration.admissionregistration.k8s.io/podeip patched');
    const ignored = await createPod('down-ignored', { 'k8s.aliyun.com/pod-with-eip': 'true' });
    expect(ignored.result).toMatchObject({ code: 0, stdout: 'pod/down-ignored created\n' });
    const pod = await storedPod('down-ignored');
    expect(pod.spec.readinessGates).toBeUndefined();
    expect(pod.spec.initContainers).toBeUndefined();
  }
});
