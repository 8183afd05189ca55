/**
 * The binder end to end: the whole sandbox (Kubernetes stand-in with kubelets whose pods get ENI IPs from
 * the cloud stand-in), and the real binder started in-process with the real Alibaba adapter pointed at the
 * cloud stand-in. Timings are short, and the rate-limit window is scaled to 6 s on both sides, with the
 * per-window limits scaled the same way, so the client's buckets and the server's counters agree.
 *
 * BINDER_TEST_LOG=<file> writes every binder's log there (debug), to see what a failing test saw.
 */
import * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import { DEFAULT_RATE_LIMITS_PER_MINUTE, createAlibabaEipCloud } from '../../../../binder/cloud/alibaba-eip-cloud.js';
import { createPromCloudMetrics } from '../../../../binder/cloud/cloud-metrics.js';
import type { ApiName } from '../../../../binder/cloud/eip-cloud.js';
import type { BinderConfig } from '../../../../binder/config/types.js';
import { startBinder, type RunningBinder } from '../../../../binder/controller/binder.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../../../sandbox/index.js';
import type { EipRecord } from '../../../../sandbox/cloud/types.js';
import type { KubeObject } from '../../../../sandbox/kube/types.js';

export const CLUSTER_ID = 'c-binder-test';
export const RATE_WINDOW_SECONDS = 6;
/** 6 s of a 60 s window: every published per-minute limit, scaled by the same factor on both sides. */
export const RATE_SCALE = RATE_WINDOW_SECONDS / 60;
export const TRANSITION_MS = 150;
export const GATE = [{ conditionType: EIP_CONDITION_TYPE }];

export interface World {
  sandbox: Sandbox;
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  close(): Promise<void>;
}

export async function startWorld(options: SandboxOptions = {}): Promise<World> {
  const sandbox = await startSandbox({
    ...options,
    cloud: {
      seed: 7,
      transitionDelays: {
        associateMs: TRANSITION_MS,
        unassociateMs: TRANSITION_MS,
        releaseMs: TRANSITION_MS,
        bandwidthPackageMs: TRANSITION_MS,
      },
      rateLimitWindowMs: RATE_WINDOW_SECONDS * 1000,
      rateLimitScale: RATE_SCALE,
      ...options.cloud,
    },
    cluster: {
      nodes: 2,
      timing: { initContainerMs: 20, containerStartMs: 30, terminationMs: 60, reconcileMs: 200 },
      ...options.cluster,
    },
  });
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromString(sandbox.kube.kubeconfig());
  return {
    sandbox,
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
    close: () => sandbox.close(),
  };
}

export function binderConfig(world: World, overrides: Partial<BinderConfig> = {}): BinderConfig {
  const c = world.sandbox.cloudConnection();
  return {
    clusterId: CLUSTER_ID,
    namespaces: [],
    workers: 4,
    resyncSeconds: 600,
    statefulWorkloadKinds: ['StatefulSet'],
    gc: { periodSeconds: 300, orphanGraceSeconds: 600 },
    verifySeconds: 90,
    watch: { inactivityTimeoutSeconds: 90 },
    cloud: {
      regionId: c.regionId,
      vpcId: c.vpcId,
      endpoint: c.endpoint,
      protocol: 'http',
      credentials: { source: 'default-chain' },
      readTimeoutMs: 3000,
      connectTimeoutMs: 1000,
      rateLimitsPerMinute: scaledLimits(RATE_WINDOW_SECONDS),
      rateLimitWindowSeconds: RATE_WINDOW_SECONDS,
    },
    leaderElection: {
      enabled: false,
      namespace: 'default',
      leaseName: 'podeip-binder',
      leaseDurationSeconds: 2,
      renewDeadlineSeconds: 1.5,
      retryPeriodSeconds: 0.2,
    },
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    ...overrides,
  };
}

/** The published per-minute limits scaled to a window of `windowSeconds`, as the cloud stand-in scales them. */
export function scaledLimits(windowSeconds: number): Record<ApiName, number> {
  const scale = windowSeconds / 60;
  return Object.fromEntries(
    Object.entries(DEFAULT_RATE_LIMITS_PER_MINUTE).map(([api, limit]) => [api, Math.max(1, Math.floor(limit * scale))]),
  ) as Record<ApiName, number>;
}

export interface TestBinder {
  binder: RunningBinder;
  registry: Registry;
  /** Successful cloud writes this binder's adapter made (Allocate, Associate, …), from its own metrics. */
  cloudWrites(): Promise<number>;
  stop(): Promise<void>;
}

const WRITE_APIS: ReadonlySet<string> = new Set([
  'AllocateEipAddress',
  'AssociateEipAddress',
  'UnassociateEipAddress',
  'ReleaseEipAddress',
  'AddCommonBandwidthPackageIp',
  'RemoveCommonBandwidthPackageIp',
]);

function testLogger(name: string): Logger {
  const file = process.env.BINDER_TEST_LOG;
  if (file === undefined || file === '') return pino({ level: 'silent' });
  return pino({ level: 'debug', base: { binder: name } }, pino.destination({ dest: file, append: true, sync: true }));
}

/** A binder as `podeip binder` runs one, with its own registry and its own cloud client. */
export async function startTestBinder(
  world: World,
  options: { config?: Partial<BinderConfig>; name?: string; logger?: Logger } = {},
): Promise<TestBinder> {
  const config = binderConfig(world, options.config);
  const registry = new Registry();
  const logger = options.logger ?? testLogger(options.name ?? 'binder');
  const c = world.sandbox.cloudConnection();
  const cloud = createAlibabaEipCloud({
    regionId: c.regionId,
    vpcId: c.vpcId,
    endpoint: c.endpoint,
    protocol: 'http',
    credentials: { kind: 'access-key', accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret },
    readTimeoutMs: config.cloud.readTimeoutMs,
    connectTimeoutMs: config.cloud.connectTimeoutMs,
    rateLimitsPerMinute: config.cloud.rateLimitsPerMinute as Partial<Record<ApiName, number>>,
    rateLimitWindowMs: config.cloud.rateLimitWindowSeconds * 1000,
    describeBatchWindowMs: 20,
    retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200, conflictDelayMs: 50 },
    metrics: createPromCloudMetrics(registry),
    logger,
  });
  const binder = await startBinder({ config, kubeConfig: world.kubeConfig, cloud, logger, registry });
  return {
    binder,
    registry,
    async cloudWrites() {
      const metric = await registry.getSingleMetric('podeip_binder_cloud_calls_total')!.get();
      return metric.values
        .filter((v) => WRITE_APIS.has(String(v.labels.api)) && v.labels.code === 'OK')
        .reduce((sum, v) => sum + v.value, 0);
    },
    stop: () => binder.stop(),
  };
}

/** startTestBinder, then waits for its caches to sync: what a test needs before it judges the binder's decisions. */
export async function startSyncedBinder(
  world: World,
  options: Parameters<typeof startTestBinder>[1] = {},
): Promise<TestBinder> {
  const started = await startTestBinder(world, options);
  await waitFor('caches synced', () => started.binder.hasSynced());
  return started;
}

/**
 * The value of a counter or gauge series on a registry, or of a histogram's `_count`/`_sum`; throws when the registry
 * has no such metric.
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const base = name.replace(/_(count|sum)$/, '');
  const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
  if (metric === undefined) throw new Error(`no metric ${name} on this registry`);
  const values = (await metric.get()).values.filter(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === name &&
      Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value),
  );
  return values.reduce((sum, v) => sum + v.value, 0);
}

export function podBody(
  name: string,
  annotations: Record<string, string>,
  extra: { gate?: boolean; labels?: Record<string, string> } = {},
): k8s.V1Pod {
  return {
    metadata: { name, annotations, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.27' }],
      terminationGracePeriodSeconds: 1,
      ...(extra.gate === false ? {} : { readinessGates: GATE }),
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` gives something other than undefined/false, or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

type Json = Record<string, unknown>;

/** The pod as the store holds it now (no HTTP round trip, so sampling is cheap). */
export function storedPod(world: World, namespace: string, name: string): KubeObject | undefined {
  const store = world.sandbox.kube.store;
  return store.get(store.resourceType('', 'pods')!, namespace, name);
}

export function storedPodEip(world: World, namespace: string, name: string): KubeObject | undefined {
  const store = world.sandbox.kube.store;
  return store.get(store.resourceType('alibabacloud.com', 'podeips')!, namespace, name);
}

export function storedPodEips(world: World, namespace?: string): KubeObject[] {
  const store = world.sandbox.kube.store;
  return store.list(store.resourceType('alibabacloud.com', 'podeips')!, namespace === undefined ? {} : { namespace })
    .items;
}

export function conditionOf(pod: KubeObject | undefined, type: string): Json | undefined {
  return (((pod?.status as Json | undefined)?.conditions ?? []) as Json[]).find((c) => c.type === type);
}

export function podIpOf(pod: KubeObject | undefined): string | undefined {
  return (pod?.status as Json | undefined)?.podIP as string | undefined;
}

export function addressOf(pod: KubeObject | undefined): string | undefined {
  return pod?.metadata.annotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION];
}

export function eipsOwnedBy(world: World, podUid: string): EipRecord[] {
  return world.sandbox.cloud.controls
    .eips()
    .filter((eip) => eip.tags.some((t) => t.key === 'podeip.io/pod-uid' && t.value === podUid));
}

export function eipsOfCluster(world: World): EipRecord[] {
  return world.sandbox.cloud.controls
    .eips()
    .filter((eip) => eip.tags.some((t) => t.key === 'podeip.io/cluster-id' && t.value === CLUSTER_ID));
}

/**
 * Samples the pod and the cloud until `until` resolves, failing at the first moment the pod is Ready while
 * no EIP is InUse on its IP. Returns how many samples saw it Ready (so a test can tell it looked).
 */
export async function neverReadyBeforeInUse(
  world: World,
  namespace: string,
  name: string,
  until: Promise<unknown>,
): Promise<{ samples: number; readySamples: number }> {
  let finished = false;
  void until.finally(() => {
    finished = true;
  });
  let samples = 0;
  let readySamples = 0;
  const sample = (): void => {
    const pod = storedPod(world, namespace, name);
    samples++;
    if (conditionOf(pod, 'Ready')?.status !== 'True') return;
    readySamples++;
    const ip = podIpOf(pod);
    const inUse = world.sandbox.cloud.controls
      .eips()
      .some((eip) => eip.status === 'InUse' && eip.privateIpAddress === ip);
    if (!inUse) throw new Error(`${namespace}/${name} is Ready while no EIP is InUse on ${ip}`);
  };
  while (!finished) {
    sample();
    await sleep(5);
  }
  await until;
  // The moment `until` saw: sampled too, so a test that waited for Ready always has a Ready sample.
  sample();
  return { samples, readySamples };
}

export async function createNamespace(world: World, name: string): Promise<void> {
  await world.core.createNamespace({ body: { metadata: { name } } });
}

export async function deletePod(world: World, namespace: string, name: string): Promise<void> {
  await world.core.deleteNamespacedPod({ namespace, name });
}

/** Events the binder recorded on a pod, by reason. */
export async function podEvents(world: World, namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  const list = await world.core.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.involvedObject.name === name && e.source?.component === 'podeip-binder');
}
