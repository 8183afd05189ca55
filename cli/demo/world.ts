/**
 * Everything the demo runs, started as a cluster admin would install podeip, but in one process: the
 * sandbox (Kubernetes and Alibaba Cloud stand-ins), the webhook behind a Service reference with a
 * throw-away CA, and the binder configured by the very binder.json the demo writes for people to reuse.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generateCa, generateServingCert } from '../../certs/generate.js';
import * as binderProgram from '../../binder/index.js';
import type { BinderConfig, RunningBinderProgram } from '../../binder/index.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import * as webhookProgram from '../../webhook/index.js';
import type { RunningWebhook } from '../../webhook/index.js';
import { podeipMutatingWebhookConfiguration } from '../../webhook/registration.js';
import { loadBinderConfig } from '../binder-config.js';
import { loadConfig } from '../config.js';
import { DEMO_STATIC_EIP } from '../commands/sandbox.js';

export const PODEIP_NAMESPACE = 'podeip-system';
export const WEBHOOK_SERVICE = { namespace: PODEIP_NAMESPACE, name: 'podeip-webhook' };
export const DEMO_CLUSTER_ID = 'podeip-demo';

/** Long enough that each state (Associating, Releasing) shows on the timeline, short enough for seconds overall. */
const DEMO_TRANSITION_DELAYS = { associateMs: 400, unassociateMs: 300, releaseMs: 400, bandwidthPackageMs: 200 };

export interface DemoWorld {
  sandbox: Sandbox;
  webhook: RunningWebhook;
  binder: RunningBinderProgram;
  binderConfig: BinderConfig;
  files: { kubeconfig: string; cloudJson: string; binderJson: string };
  /** Stops the binder (releasing its lease), the webhook and the sandbox; removes the files unless kept. */
  close(): Promise<void>;
}

export interface DemoWorldOptions {
  /** A logger per program, named as the program is (podeip-binder, …). */
  loggerFor(program: string): Logger;
  /** Where kubeconfig, cloud.json and binder.json go; a temporary folder (removed on close) when absent. */
  dir?: string;
  /** The in-process binder's; binder.json itself says info, for a binder people start from it. */
  logLevel: string;
}

/** The binder's configuration for the sandbox, as binder.json: loadable by `podeip binder --config`. */
export function demoBinderJson(
  sandbox: Sandbox,
  files: { kubeconfig: string; cloudJson: string },
): Record<string, unknown> {
  const cloud = sandbox.cloudConnection();
  return {
    clusterId: DEMO_CLUSTER_ID,
    kubeconfig: files.kubeconfig,
    cloud: {
      regionId: cloud.regionId,
      vpcId: cloud.vpcId,
      endpoint: cloud.endpoint,
      protocol: cloud.protocol,
      credentials: { source: 'key-file', path: files.cloudJson },
    },
    leaderElection: { enabled: true, namespace: PODEIP_NAMESPACE },
    // Port 0: a second binder started from this file beside the demo's must not fight it for a port.
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
  };
}

export async function startDemoWorld(options: DemoWorldOptions): Promise<DemoWorld> {
  const logger = options.loggerFor('podeip-demo');
  const scratch = mkdtempSync(join(tmpdir(), 'podeip-demo-'));
  const dir = options.dir ?? scratch;
  const closers: Array<() => Promise<void> | void> = [() => rmSync(scratch, { recursive: true, force: true })];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err }, 'demo: a component did not stop cleanly');
      }
    }
  };
  try {
    const sandbox = await startSandbox({
      cloud: { transitionDelays: DEMO_TRANSITION_DELAYS },
      logger: options.loggerFor('podeip-sandbox'),
    });
    closers.push(() => sandbox.close());
    // As `podeip sandbox` does, so deploy/examples/pod-static-eip.yaml has its EIP.
    sandbox.cloud.controls.createEip({ allocationId: DEMO_STATIC_EIP, name: 'podeip demo static EIP' });
    const namespaces = sandbox.kube.store.resourceType('', 'namespaces')!;
    await sandbox.kube.api.create(namespaces, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: PODEIP_NAMESPACE },
    });

    const webhook = await startDemoWebhook(sandbox, scratch, options.loggerFor('podeip-webhook'));
    closers.push(() => webhook.close());

    const written = sandbox.writeFiles(dir);
    const files = { ...written, binderJson: join(dir, 'binder.json') };
    writeFileSync(files.binderJson, `${JSON.stringify(demoBinderJson(sandbox, written), null, 2)}\n`, { mode: 0o600 });
    // What `podeip binder --config binder.json --log-level …` would load, minus the caller's environment.
    const loaded = loadBinderConfig({ file: files.binderJson, flags: { 'log-level': options.logLevel }, env: {} });
    if (!loaded.ok) throw new Error(`the demo's binder.json is invalid:\n${loaded.problems.join('\n')}`);
    const binder = await binderProgram.start(loaded.config, {
      logger: options.loggerFor('podeip-binder'),
      processMetrics: false,
    });
    closers.push(() => binder.close());

    return { sandbox, webhook, binder, binderConfig: loaded.config, files, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The webhook on a loopback port, reached by the sandbox through podeip-system/podeip-webhook as in a cluster. */
async function startDemoWebhook(sandbox: Sandbox, scratch: string, logger: Logger): Promise<RunningWebhook> {
  const serviceName = `${WEBHOOK_SERVICE.name}.${WEBHOOK_SERVICE.namespace}.svc`;
  const ca = generateCa({ commonName: 'podeip demo CA', validityDays: 1 });
  const serving = generateServingCert({
    ca,
    commonName: serviceName,
    dnsNames: [serviceName],
    ipAddresses: [],
    validityDays: 1,
  });
  writeFileSync(join(scratch, 'tls.crt'), serving.certPem);
  writeFileSync(join(scratch, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const loaded = loadConfig({
    check: (raw, sourceOf) => webhookProgram.validateWebhookConfig(raw, { sourceOf }),
    settings: webhookProgram.webhookSettings,
    flags: { 'tls-cert': join(scratch, 'tls.crt'), 'tls-key': join(scratch, 'tls.key'), port: '0', host: '127.0.0.1' },
    env: {},
  });
  if (!loaded.ok) throw new Error(`the demo's webhook configuration is invalid:\n${loaded.problems.join('\n')}`);
  const webhook = await webhookProgram.start(loaded.config, { logger });
  try {
    sandbox.mapService(WEBHOOK_SERVICE, { host: '127.0.0.1', port: webhook.port });
    const registration = podeipMutatingWebhookConfiguration({
      target: { service: WEBHOOK_SERVICE },
      caPem: ca.certPem,
      excludedNamespaces: ['kube-system', PODEIP_NAMESPACE],
    });
    const type = sandbox.kube.store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!;
    await sandbox.kube.api.create(type, undefined, registration);
  } catch (error) {
    await webhook.close();
    throw error;
  }
  return webhook;
}
