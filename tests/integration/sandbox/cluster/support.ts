/**
 * Shared by the cluster tests: the real store (or the whole API stand-in), the real cloud stand-in, the
 * cluster behaviour with short timings, manifests, and polling that says what it waited for.
 */
import * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { startCloudSandbox, type CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  startClusterBehaviour,
  type ClusterBehaviour,
  type ClusterBehaviourOptions,
} from '../../../../sandbox/kube/cluster/index.js';
import {
  createClusterStore,
  startKubeSandbox,
  type KubeSandbox,
  type SandboxClusterStore,
} from '../../../../sandbox/kube/index.js';
import type { KubeObject, ResourceType } from '../../../../sandbox/kube/types.js';
import { pollUntil } from '../../poll.js';

export const FAST_TIMING = { initContainerMs: 20, containerStartMs: 30, terminationMs: 40, reconcileMs: 200 };

/** CLUSTER_TEST_LOG=<file> writes the cluster's log there (debug level), to see what a failing test saw. */
function testLogger(): Logger | undefined {
  const file = process.env.CLUSTER_TEST_LOG;
  return file === undefined || file === ''
    ? undefined
    : pino({ level: 'debug' }, pino.destination({ dest: file, append: true, sync: true }));
}

export interface TestCluster {
  store: SandboxClusterStore;
  cloud: CloudSandbox | undefined;
  cluster: ClusterBehaviour;
  pods: ResourceType;
  close(): Promise<void>;
}

export interface TestClusterOptions extends Partial<Omit<ClusterBehaviourOptions, 'store' | 'cloud'>> {
  /** Default true: a cloud stand-in backs the nodes and pod IPs. */
  withCloud?: boolean;
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const { withCloud = true, ...rest } = options;
  const store = createClusterStore();
  const cloud = withCloud
    ? await startCloudSandbox({
        seed: 4242,
        transitionDelays: { associateMs: 20, unassociateMs: 20, releaseMs: 20, bandwidthPackageMs: 20 },
      })
    : undefined;
  const logger = testLogger();
  const cluster = startClusterBehaviour({
    store,
    ...(cloud === undefined ? {} : { cloud: cloud.controls }),
    timing: FAST_TIMING,
    ...(logger === undefined ? {} : { logger }),
    ...rest,
  });
  return {
    store,
    cloud,
    cluster,
    pods: store.resourceType('', 'pods')!,
    close: async () => {
      await cluster.stop();
      store.close();
      await cloud?.close();
    },
  };
}

export interface TestApiCluster {
  kube: KubeSandbox;
  cloud: CloudSandbox;
  cluster: ClusterBehaviour;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  close(): Promise<void>;
}

/** The HTTPS API stand-in with the cluster behind it, and client-node clients for it. */
export async function startTestApiCluster(options: TestClusterOptions = {}): Promise<TestApiCluster> {
  const { withCloud: _withCloud, ...rest } = options;
  const kube = await startKubeSandbox();
  const cloud = await startCloudSandbox({
    seed: 4343,
    transitionDelays: { associateMs: 20, unassociateMs: 20, releaseMs: 20, bandwidthPackageMs: 20 },
  });
  const logger = testLogger();
  const cluster = startClusterBehaviour({
    store: kube.store,
    api: kube.api,
    cloud: cloud.controls,
    timing: FAST_TIMING,
    ...(logger === undefined ? {} : { logger }),
    ...rest,
  });
  const config = new k8s.KubeConfig();
  config.loadFromString(kube.kubeconfig());
  return {
    kube,
    cloud,
    cluster,
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    close: async () => {
      await cluster.stop();
      await kube.close();
      await cloud.close();
    },
  };
}

/** Polls `probe` until it returns something other than undefined/false, or fails saying what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const settled = (value: T | undefined | false): boolean => value !== undefined && value !== false;
  return (await pollUntil(probe, settled, () => `still waiting for ${what}`, timeoutMs, 10)) as T;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Json = Record<string, unknown>;

export function conditionOf(object: KubeObject, type: string): Json | undefined {
  const conditions = ((object.status as Json | undefined)?.conditions ?? []) as Json[];
  return conditions.find((c) => c.type === type);
}

export function isReady(pod: KubeObject): boolean {
  return conditionOf(pod, 'Ready')?.status === 'True';
}

export function podIp(pod: KubeObject): string | undefined {
  return (pod.status as Json | undefined)?.podIP as string | undefined;
}

export function phaseOf(pod: KubeObject): string | undefined {
  return (pod.status as Json | undefined)?.phase as string | undefined;
}

export function listPods(store: SandboxClusterStore, namespace: string, labelSelector?: string): KubeObject[] {
  return store.list(store.resourceType('', 'pods')!, {
    namespace,
    ...(labelSelector === undefined ? {} : { labelSelector }),
  }).items;
}

export function container(name: string, extra: Json = {}): Json {
  return { name, image: 'nginx:1.27', ...extra };
}

export function podTemplate(app: string, spec: Json = {}, annotations?: Record<string, string>): Json {
  return {
    metadata: { labels: { app }, ...(annotations === undefined ? {} : { annotations }) },
    spec: { containers: [container('app')], ...spec },
  };
}

export function deployment(name: string, replicas: number, template: Json, strategy?: Json): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: (template.metadata as Json & { labels: Json }).labels.app } },
      template,
      ...(strategy === undefined ? {} : { strategy }),
    },
  };
}

export function statefulSet(name: string, replicas: number, template: Json, spec: Json = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: (template.metadata as Json & { labels: Json }).labels.app } },
      template,
      ...spec,
    },
  };
}

export function barePod(name: string, spec: Json = {}, metadata: Json = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...metadata },
    spec: { containers: [container('app')], ...spec },
  };
}
