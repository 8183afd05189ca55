/**
 * Everything the demo runs: the sandbox (Kubernetes and Alibaba Cloud stand-ins) with podeip installed
 * into it from deploy/ the way a cluster admin installs it, so the demo is a dress rehearsal of the real
 * install. The access-key overlay is rendered (without kubectl), the three values an admin fills in and the
 * key are written in, and every object is applied through the API. Where this machine can run pods as
 * processes (Linux, root), the stand-in's kubelet runs the shipped Deployments: both programs start from
 * the manifests, in-cluster, as their ServiceAccounts. Elsewhere they run in this process with the applied
 * settings and their ServiceAccounts' tokens, and the Deployments are scaled to zero.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parse, stringify } from 'yaml';
import * as binderProgram from '../../binder/index.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { processIsolationProblem } from '../../sandbox/kube/cluster/index.js';
import { renderKubeconfig } from '../../sandbox/kube/kubeconfig.js';
import * as webhookProgram from '../../webhook/index.js';
import { loadBinderConfig } from '../binder-config.js';
import { DEMO_STATIC_EIP, podeipLocalImage } from '../commands/sandbox.js';
import { findDeployDir } from './examples.js';
import { renderKustomization, sandboxStrategicMerge, type RenderedObject } from './kustomize.js';

export const PODEIP_NAMESPACE = 'podeip-system';
export const DEMO_CLUSTER_ID = 'podeip-demo';
/** The overlay an admin without RRSA installs: the base plus the Secret holding the binder's AccessKey. */
export const DEMO_OVERLAY = 'overlays/access-key';

/** Long enough that each state (Associating, Releasing) shows on the timeline, short enough for seconds overall. */
const DEMO_TRANSITION_DELAYS = { associateMs: 400, unassociateMs: 300, releaseMs: 400, bandwidthPackageMs: 200 };
const INSTALL_TIMEOUT_MS = 60_000;

/** kubectl's apply order: what others refer to comes first. */
const KIND_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'Deployment',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
];

export interface DemoWorld {
  sandbox: Sandbox;
  /** Lines that say how podeip was installed and runs, for the demo's header. */
  description: string[];
  files: { kubeconfig: string; cloudJson: string; binderJson: string };
  /** Stops podeip and the sandbox; removes the files unless kept. */
  close(): Promise<void>;
}

export interface DemoWorldOptions {
  /** A logger per program, named as the program is (podeip-binder, …). */
  loggerFor(program: string): Logger;
  /** Where kubeconfig, cloud.json and binder.json go; a temporary folder (removed on close) when absent. */
  dir?: string;
  /** The least level of the programs' log lines to show. */
  logLevel: string;
  /** Where the programs' own log lines go (their pods' output when they run as pods). */
  writeLog(line: string): void;
  /** Run podeip in this process even where its pods could run as processes. */
  inProcess?: boolean;
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

/** pino's numeric level for a level name. */
function levelNumber(name: string): number {
  return { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }[name] ?? 30;
}

/**
 * What an admin writes into the rendered access-key overlay, for this sandbox: the binder's cluster id,
 * region and VPC (with the stand-in's endpoint) in its ConfigMap, and the key in its Secret.
 */
export function fillInForSandbox(
  objects: ReadonlyArray<{ kind: string; metadata: { name: string } }>,
  sandbox: Sandbox,
  clusterId: string,
): void {
  const cloud = sandbox.cloudConnection();
  for (const object of objects) {
    const data = (object as { data?: Record<string, string> }).data;
    if (object.kind === 'ConfigMap' && object.metadata.name === 'podeip-binder' && data !== undefined) {
      const settings = parse(data['binder.yaml'] ?? '') as Record<string, Record<string, unknown>>;
      settings.cloud = {
        ...settings.cloud,
        regionId: cloud.regionId,
        vpcId: cloud.vpcId,
        // The stand-in's address; a real cluster leaves the endpoint to the region's default.
        endpoint: cloud.endpoint,
        protocol: cloud.protocol,
      };
      data['binder.yaml'] = stringify({ ...settings, clusterId });
    }
    if (object.kind === 'Secret' && object.metadata.name === 'podeip-binder-credentials' && data !== undefined) {
      const key = { accessKeyId: cloud.accessKeyId, accessKeySecret: cloud.accessKeySecret };
      data['credentials.json'] = Buffer.from(JSON.stringify(key)).toString('base64');
    }
  }
}

/** The rendered overlay, filled in, in the order kubectl applies kinds. */
function installObjects(sandbox: Sandbox): RenderedObject[] {
  const objects = renderKustomization(join(findDeployDir(), DEMO_OVERLAY), sandboxStrategicMerge());
  fillInForSandbox(objects, sandbox, DEMO_CLUSTER_ID);
  const rank = (o: RenderedObject): number => {
    const index = KIND_ORDER.indexOf(o.kind);
    return index < 0 ? KIND_ORDER.length : index;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

async function apply(sandbox: Sandbox, objects: RenderedObject[]): Promise<void> {
  for (const object of objects) {
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
    const type = sandbox.kube.store.resourceTypeForKind(group, object.kind);
    if (type === undefined) throw new Error(`the sandbox does not serve ${object.apiVersion} ${object.kind}`);
    await sandbox.kube.api.create(type, type.namespaced ? object.metadata.namespace : undefined, object);
  }
}

async function waitFor(what: string, check: () => boolean, explain: () => string[] = () => []): Promise<void> {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error([`podeip's install did not finish: ${what}`, ...explain()].join('\n    '));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function hasCaBundle(sandbox: Sandbox): boolean {
  const type = sandbox.kube.store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!;
  const registration = sandbox.kube.store.get(type, undefined, 'podeip-webhook') as
    { webhooks?: { clientConfig?: { caBundle?: string } }[] } | undefined;
  return (registration?.webhooks ?? []).length > 0 && registration!.webhooks!.every((w) => w.clientConfig?.caBundle);
}

/** Each of podeip's pods with its containers' state and its latest Warning, for a failed install. */
function podeipPodStates(sandbox: Sandbox): string[] {
  const store = sandbox.kube.store;
  const events = store.list(store.resourceType('', 'events')!, { namespace: PODEIP_NAMESPACE }).items as unknown as {
    type: string;
    message: string;
    involvedObject: { name: string };
  }[];
  return store.list(store.resourceType('', 'pods')!, { namespace: PODEIP_NAMESPACE }).items.map((pod) => {
    const statuses = (pod.status as { containerStatuses?: Record<string, unknown>[] } | undefined)?.containerStatuses;
    const states = (statuses ?? []).map(
      (s) => `${String(s.name)} ${Object.keys(s.state as object)[0]}, ${String(s.restartCount)} restarts`,
    );
    const warning = events.filter((e) => e.type === 'Warning' && e.involvedObject.name === pod.metadata.name).pop();
    return `${pod.metadata.name}: ${states.join('; ') || 'no containers yet'}${warning ? ` (last warning: ${warning.message})` : ''}`;
  });
}

function podeipPodsReady(sandbox: Sandbox): boolean {
  const pods = sandbox.kube.store.list(sandbox.kube.store.resourceType('', 'pods')!, { namespace: PODEIP_NAMESPACE });
  const ready = pods.items.filter((pod) =>
    ((pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  );
  return ready.length === 4;
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
  const threshold = levelNumber(options.logLevel);
  // Why podeip cannot run as pods here; undefined when it can.
  const asPods = options.inProcess === true ? 'asked for with --in-process' : processIsolationProblem();
  try {
    const sandbox = await startSandbox({
      cloud: { transitionDelays: DEMO_TRANSITION_DELAYS },
      logger: options.loggerFor('podeip-sandbox'),
      installPodEipCrd: false,
      ...(asPods === undefined
        ? {
            cluster: {
              processes: {
                images: podeipLocalImage(),
                onOutput: (_pod, _container, line) => {
                  const level = /^\{"level":(\d+)/.exec(line)?.[1];
                  if (level === undefined || Number(level) >= threshold) options.writeLog(line);
                },
              },
            },
          }
        : {}),
    });
    closers.push(() => sandbox.close());
    // As `podeip sandbox` does, so deploy/examples/pod-static-eip.yaml has its EIP.
    sandbox.cloud.controls.createEip({ allocationId: DEMO_STATIC_EIP, name: 'podeip demo static EIP' });

    const objects = installObjects(sandbox);
    if (asPods !== undefined)
      for (const o of objects) if (o.kind === 'Deployment') (o.spec as { replicas: number }).replicas = 0;
    await apply(sandbox, objects);
    const written = sandbox.writeFiles(dir);
    const files = { ...written, binderJson: join(dir, 'binder.json') };
    writeFileSync(files.binderJson, `${JSON.stringify(demoBinderJson(sandbox, written), null, 2)}\n`, { mode: 0o600 });

    const description = [
      `  installed       deploy/${DEMO_OVERLAY} (${objects.length} objects), with the sandbox's region, VPC, endpoint and key written in`,
    ];
    if (asPods === undefined) {
      await waitFor(
        'podeip-webhook and podeip-binder Ready, 2 pods each',
        () => podeipPodsReady(sandbox),
        () => podeipPodStates(sandbox),
      );
      description.push(
        '  running         the shipped Deployments, 2 webhook and 2 binder pods run as processes by the sandbox kubelet',
      );
    } else {
      closers.push(...(await startInProcess(sandbox, objects, scratch, options)));
      description.push(`  running         podeip in this process (${asPods}), as the ServiceAccounts`);
    }
    await waitFor("the webhook's caBundle in its registration", () => hasCaBundle(sandbox));
    return { sandbox, description, files, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The programs in this process with the applied settings, each with its ServiceAccount's token. */
async function startInProcess(
  sandbox: Sandbox,
  objects: RenderedObject[],
  scratch: string,
  options: DemoWorldOptions,
): Promise<Array<() => Promise<void>>> {
  const settingsOf = (program: string): Record<string, unknown> => {
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `podeip-${program}`) as
      { data: Record<string, string> } | undefined;
    return parse(map?.data[`${program}.yaml`] ?? '{}') as Record<string, unknown>;
  };
  const kubeconfigFor = (account: string): string => {
    const type = sandbox.kube.store.resourceType('', 'serviceaccounts')!;
    const uid = sandbox.kube.store.get(type, PODEIP_NAMESPACE, account)?.metadata.uid ?? '';
    const { token } = sandbox.kube.serviceAccountTokens.issue({
      namespace: PODEIP_NAMESPACE,
      serviceAccount: { name: account, uid },
    });
    const path = join(scratch, `${account}.kubeconfig`);
    const text = renderKubeconfig({
      server: sandbox.kube.url,
      caPem: sandbox.kube.caPem,
      token,
      namespace: PODEIP_NAMESPACE,
    });
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const stops: Array<() => Promise<void>> = [];

  const webhookSettings = settingsOf('webhook') as { listen?: object; certificates: Record<string, unknown> };
  webhookSettings.listen = { ...webhookSettings.listen, host: '127.0.0.1', port: 0 };
  webhookSettings.certificates.kubeconfig = kubeconfigFor('podeip-webhook');
  const webhookConfig = webhookProgram.validateWebhookConfig(webhookSettings, { podNamespace: PODEIP_NAMESPACE });
  if (!webhookConfig.ok)
    throw new Error(`the applied webhook settings are invalid:\n${webhookConfig.problems.join('\n')}`);
  const webhook = await webhookProgram.start(webhookConfig.config, { logger: options.loggerFor('podeip-webhook') });
  stops.push(() => webhook.stop());
  sandbox.mapService(
    { namespace: PODEIP_NAMESPACE, name: webhookConfig.config.certificates.service.name, port: 443 },
    { host: '127.0.0.1', port: webhook.port },
  );

  const cloud = sandbox.cloudConnection();
  const binderSettings = settingsOf('binder') as Record<string, unknown> & { cloud: Record<string, unknown> };
  const keyFile = join(scratch, 'credentials.json');
  writeFileSync(keyFile, JSON.stringify({ accessKeyId: cloud.accessKeyId, accessKeySecret: cloud.accessKeySecret }), {
    mode: 0o600,
  });
  binderSettings.kubeconfig = kubeconfigFor('podeip-binder');
  binderSettings.cloud.credentials = { source: 'key-file', path: keyFile };
  binderSettings.server = { host: '127.0.0.1', port: 0 };
  const binderFile = join(scratch, 'binder.yaml');
  writeFileSync(binderFile, stringify(binderSettings), { mode: 0o600 });
  const loaded = loadBinderConfig({ file: binderFile, flags: { 'log-level': options.logLevel }, env: {} });
  if (!loaded.ok) throw new Error(`the applied binder settings are invalid:\n${loaded.problems.join('\n')}`);
  const binder = await binderProgram.start(loaded.config, {
    logger: options.loggerFor('podeip-binder'),
    processMetrics: false,
  });
  stops.push(() => binder.close());
  return stops;
}
