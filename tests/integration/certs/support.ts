/** Self-managed webhook replicas against the Kubernetes stand-in, and clients that trust only the caBundle. */
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startKubeSandbox, type KubeSandbox } from '../../../sandbox/kube/index.js';
import { validateWebhookConfig } from '../../../webhook/config/validate.js';
import { start as startWebhook, type RunningWebhook } from '../../../webhook/index.js';
import { WEBHOOK_CONFIGURATION_NAME } from '../../../webhook/registration.js';

export const NAMESPACE = 'podeip-system';
export const SERVICE_HOST = `podeip-webhook.${NAMESPACE}.svc`;
export const REVIEW = readFileSync(
  new URL('../../fixtures/admission/deployment-pod-auto.json', import.meta.url),
  'utf8',
);

export interface CertsWorld {
  sandbox: KubeSandbox;
  kubeconfigFile: string;
  core: k8s.CoreV1Api;
  admission: k8s.AdmissionregistrationV1Api;
  /** Each replica's log lines. */
  logs: string[][];
  replicas: RunningWebhook[];
  startReplica(certificates?: Record<string, unknown>): Promise<RunningWebhook>;
  close(): Promise<void>;
}

export async function startCertsWorld(): Promise<CertsWorld> {
  const sandbox = await startKubeSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'podeip-certs-'));
  const kubeconfigFile = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, sandbox.kubeconfig());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sandbox.kubeconfig());
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(() => undefined);
  const world: CertsWorld = {
    sandbox,
    kubeconfigFile,
    core,
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
    logs: [],
    replicas: [],
    async startReplica(certificates = {}) {
      const loaded = validateWebhookConfig({
        listen: { host: '127.0.0.1', port: 0 },
        certificates: { mode: 'self-managed', namespace: NAMESPACE, kubeconfig: kubeconfigFile, ...certificates },
        log: { level: 'info' },
      });
      if (!loaded.ok) throw new Error(loaded.problems.join('; '));
      const lines: string[] = [];
      world.logs.push(lines);
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      const running = await startWebhook(loaded.config, { logger });
      world.replicas.push(running);
      return running;
    },
    async close() {
      await Promise.all(world.replicas.map((r) => r.stop()));
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

export async function readRegistration(world: CertsWorld): Promise<k8s.V1MutatingWebhookConfiguration | undefined> {
  try {
    return await world.admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
  } catch {
    return undefined;
  }
}

export async function readSecret(world: CertsWorld): Promise<k8s.V1Secret | undefined> {
  try {
    return await world.core.readNamespacedSecret({ name: 'podeip-webhook-tls', namespace: NAMESPACE });
  } catch {
    return undefined;
  }
}

/** The PEM bundle the registration tells the API server to trust. */
export function bundleOf(registration: k8s.V1MutatingWebhookConfiguration | undefined): string | undefined {
  const caBundle = registration?.webhooks?.[0]?.clientConfig.caBundle;
  return caBundle === undefined ? undefined : Buffer.from(caBundle, 'base64').toString('utf8');
}

export function countCertificates(pem: string | undefined): number {
  return pem?.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

export interface Answer {
  status: number;
  fingerprint256: string;
}

/**
 * One admission review on a new connection that trusts only `caPem` and checks the Service's DNS name, as
 * the API server does when it calls the webhook.
 */
export function admit(port: number, caPem: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate-v1-pod',
        method: 'POST',
        ca: caPem,
        servername: SERVICE_HOST,
        agent: false,
        headers: { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        const fingerprint256 = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint256 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(REVIEW);
  });
}

// The polling helpers the binder's API tests use: the deadline only bounds a hang.
export { eventually, sleep } from '../binder/kube/support.js';
