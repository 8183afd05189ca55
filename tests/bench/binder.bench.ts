/**
 * `make bench` (binder part), figures only:
 * (a) a burst of pods asking for EIPs at once, against the cloud stand-in with its per-minute limits
 *     scaled down (×0.1 over a 6 s window, the binder's buckets likewise), timed from the first create to
 *     the last condition True, beside the floor those limits allow; with cloud calls per pod and the
 *     Throttling answers the cloud gave.
 * (b) the binder at scale: clusters of 20,000 and 100,000 pods of which 5% ask for an EIP (BENCH_SCALE_SIZES).
 *     A binder process, with the cloud limits scaled up so the binding takes seconds, binds them all; its
 *     memory is read beside a baseline process that only loads the same modules: at sync, right after the
 *     binds, 30 s later when idle, and the peak (read before the bench's own forced GCs, which need room of
 *     their own), with the heap V8 has committed and the TLS connections the binder opened. Then a binder
 *     with every setting at its default (the published cloud limits, verification, garbage collection)
 *     restarts on the bound cluster: its sync time, the calls of its startup pass, and its cloud calls per
 *     minute through one garbage-collection period, beside the published limits. Last, how memory, sync
 *     time and calls grow from one size to the next. Runs with the Node options the binder is meant to
 *     run with (binder/runtime.ts), and once more at the largest size with Node's defaults
 *     (BENCH_NODE_DEFAULTS=0 skips it). BENCH_CPU_PROF=DIR writes a CPU profile of each binder process there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Counter } from 'prom-client';
import { EIP_CONDITION_TYPE } from '../../api/constants.js';
import { eipPolicyCustomResourceDefinition } from '../../api/eip-policy.js';
import { podEipCustomResourceDefinition } from '../../api/podeip.js';
import { CLOUD_API_NAMES } from '../../binder/cloud/eip-cloud.js';
import { start as startBinder } from '../../binder/index.js';
import { loadBinderConfig } from '../../cli/binder-config.js';
import { createLogger } from '../../cli/logger.js';
import { BINDER_NODE_OPTIONS } from '../../binder/runtime.js';
import { verificationBudget } from '../../binder/controller/verification.js';
import { startSandbox } from '../../sandbox/index.js';
import {
  DEFAULT_PER_MINUTE,
  DEFAULT_TRANSITION_DELAYS,
  PUBLISHED_PER_MINUTE,
  startCloudSandbox,
  type CloudSandbox,
} from '../../sandbox/cloud/index.js';
import { startKubeSandbox, type ClusterStore, type KubeObject, type KubeSandbox } from '../../sandbox/kube/index.js';
import type { ChildMessage } from './binder-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const BURST_PODS = Number(process.env.BENCH_BURST_PODS ?? 60);
const BURST_SCALE = 0.1;
const BURST_WINDOW_S = 6;
/** Unset: the configuration's default, which is what is measured; set it to see how workers change the figure. */
const BURST_WORKERS = process.env.BENCH_BURST_WORKERS;
/** Cluster sizes for (b), as pods:EIP pods; the growth from one to the next is printed. */
const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? '20000:1000,100000:5000').split(',').map((size) => {
  const [pods, eipPods] = size.split(':').map(Number);
  if (!(Number.isInteger(pods) && Number.isInteger(eipPods))) throw new Error(`BENCH_SCALE_SIZES: bad size ${size}`);
  return { pods: pods as number, eipPods: eipPods as number };
});
/** How long the restarted binder's steady state is counted: one garbage-collection period by default. */
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 300);
const IPS_PER_ENI = 50;
/** ENIs per vSwitch: 60 × 51 addresses fit the stand-in's /20 blocks. */
const ENIS_PER_VSWITCH = 60;
const MB = 1024 * 1024;
/** How long the binder idles after the burst before its settled memory is read. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_S ?? 30) * 1000;

/** The stand-in's limit for an action at `scale`, which the binder's bucket is set to as well. */
function standInLimit(api: string, scale: number): number {
  return Math.max(1, Math.floor((PUBLISHED_PER_MINUTE[api] ?? DEFAULT_PER_MINUTE) * scale));
}

function binderConfigFile(
  dir: string,
  files: { kubeconfig: string; cloudJson: string },
  cloud: { regionId: string; vpcId: string; endpoint: string },
  limits: { scale: number; windowS: number; logLevel: string } | undefined,
): string {
  const path = join(dir, limits === undefined ? 'binder-defaults.json' : 'binder.json');
  const config = {
    clusterId: 'bench',
    kubeconfig: files.kubeconfig,
    cloud: {
      regionId: cloud.regionId,
      vpcId: cloud.vpcId,
      endpoint: cloud.endpoint,
      protocol: 'http',
      credentials: { source: 'key-file', path: files.cloudJson },
      ...(limits === undefined
        ? {}
        : {
            rateLimitsPerMinute: Object.fromEntries(
              CLOUD_API_NAMES.map((api) => [api, standInLimit(api, limits.scale)]),
            ),
            rateLimitWindowSeconds: limits.windowS,
          }),
    },
    leaderElection: { enabled: false },
    ...(BURST_WORKERS === undefined || limits === undefined ? {} : { workers: Number(BURST_WORKERS) }),
    server: { host: '127.0.0.1', port: 0 },
    log: { level: limits?.logLevel ?? 'warn' },
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

function eipConditionStatus(pod: KubeObject): string | undefined {
  const conditions =
    (pod.status as { conditions?: Array<{ type?: string; status?: string }> } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === EIP_CONDITION_TYPE)?.status;
}

/** Counts pods whose EIP condition exists (the binder has reconciled them) and those where it is True. */
function watchEipConditions(store: ClusterStore): { reconciled(): number; bound(): number[]; stop(): void } {
  const reconciled = new Set<string>();
  const bound = new Map<string, number>();
  const watch = store.watch(store.resourceType('', 'pods')!, {}, (event) => {
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return;
    const pod = event.object as KubeObject;
    const uid = pod.metadata.uid ?? '';
    const status = eipConditionStatus(pod);
    if (status !== undefined) reconciled.add(uid);
    if (status === 'True' && !bound.has(uid)) bound.set(uid, performance.now());
  });
  return { reconciled: () => reconciled.size, bound: () => [...bound.values()], stop: () => watch.stop() };
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function burst(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-bench-burst-'));
  const sandbox = await startSandbox({
    cloud: { rateLimitScale: BURST_SCALE, rateLimitWindowMs: BURST_WINDOW_S * 1000, eipQuota: BURST_PODS + 10 },
    cluster: { nodes: 4 },
  });
  try {
    const files = sandbox.writeFiles(dir);
    const loaded = loadBinderConfig({
      file: binderConfigFile(dir, files, sandbox.cloud, {
        scale: BURST_SCALE,
        windowS: BURST_WINDOW_S,
        logLevel: 'warn',
      }),
      flags: {},
      env: {},
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const logger = createLogger({ level: 'warn', name: 'podeip-binder' }, pino.destination({ dest: 2, sync: true }));
    const binder = await startBinder(loaded.config, { logger, processMetrics: false });
    try {
      await until(() => binder.binder.hasSynced(), 10000);
      sandbox.cloud.controls.resetCallCounts();
      const conditions = watchEipConditions(sandbox.kube.store);
      const pods = sandbox.kube.store.resourceType('', 'pods')!;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: BURST_PODS }, (_, i) =>
          sandbox.kube.api.create(pods, 'default', {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: `burst-${i}`,
              namespace: 'default',
              annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' },
            },
            spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
          }),
        ),
      );
      const associatePerWindow = standInLimit('AssociateEipAddress', BURST_SCALE);
      const perSecond = associatePerWindow / BURST_WINDOW_S;
      const floorS = BURST_PODS / perSecond + DEFAULT_TRANSITION_DELAYS.associateMs / 1000;
      const all = await until(() => conditions.bound().length >= BURST_PODS, Math.max(60000, floorS * 4000));
      conditions.stop();
      const bound = conditions.bound();
      const tookS = ((bound.length > 0 ? Math.max(...bound) : performance.now()) - started) / 1000;
      const counts = sandbox.cloud.controls.callCounts();
      const calls = Object.entries(counts).filter(([, c]) => c.ok + c.failed > 0);
      const total = calls.reduce((sum, [, c]) => sum + c.ok + c.failed, 0);
      const throttled = await throttlingAnswers(
        binder.registry.getSingleMetric('podeip_binder_cloud_calls_total') as Counter<'api' | 'code'> | undefined,
      );
      const latencies = bound.map((at) => (at - started) / 1000);

      console.log(
        `\nbinder benchmark (a): ${BURST_PODS} pods with auto EIPs created at once; cloud limits ×${BURST_SCALE} per ${BURST_WINDOW_S} s window on both sides; ${loaded.config.workers} workers`,
      );
      console.log(
        `  first create → last condition True   ${tookS.toFixed(1)} s${all ? '' : `  (only ${bound.length} of ${BURST_PODS} bound)`}`,
      );
      console.log(
        `  floor the limits allow                ${floorS.toFixed(1)} s  (${BURST_PODS} ÷ ${perSecond.toFixed(2)} associations/s + one ${DEFAULT_TRANSITION_DELAYS.associateMs} ms association)`,
      );
      console.log(`  ratio to the floor                    ${(tookS / floorS).toFixed(2)}  (aim <= 1.15)`);
      console.log(
        `  per pod, create → True                p50 ${percentile(latencies, 50).toFixed(1)} s, p99 ${percentile(latencies, 99).toFixed(1)} s`,
      );
      console.log(`  cloud calls per pod                   ${(total / BURST_PODS).toFixed(2)}  (aim <= 4)`);
      for (const [action, c] of calls.sort(([a], [b]) => a.localeCompare(b))) {
        console.log(
          `    ${action.padEnd(34)}${String(c.ok).padStart(5)} ok${c.failed > 0 ? `, ${c.failed} failed` : ''}`,
        );
      }
      console.log(`  Throttling answers from the cloud     ${throttled}  (aim 0)`);
    } finally {
      await binder.close();
    }
  } finally {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throttlingAnswers(counter: Counter<'api' | 'code'> | undefined): Promise<number> {
  if (counter === undefined) return NaN;
  const { values } = await counter.get();
  return values.filter((v) => /Throttling/.test(String(v.labels.code))).reduce((sum, v) => sum + v.value, 0);
}

/** A pod as a Deployment writes it: labels, a few annotations, one container with ports, env and resources. */
function benchPod(i: number, withEip: boolean): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `app-${Math.floor(i / 100)}-${i}`,
      namespace: `team-${i % 20}`,
      labels: { app: `app-${Math.floor(i / 100)}`, 'pod-template-hash': '5d8f7c9b4', tier: 'backend' },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        ...(withEip ? { 'k8s.aliyun.com/pod-with-eip': 'true', 'k8s.aliyun.com/eip-bandwidth': '10' } : {}),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `app-${Math.floor(i / 100)}-5d8f7c9b4`,
          uid: `rs-${Math.floor(i / 100)}`,
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: `bench-node-${i % 100}`,
      containers: [
        {
          name: 'app',
          image: 'registry.cn-hangzhou.aliyuncs.com/acs/app:v1.2.3',
          ports: [
            { containerPort: 8080, protocol: 'TCP' },
            { containerPort: 9090, name: 'metrics', protocol: 'TCP' },
          ],
          env: Array.from({ length: 6 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
        },
      ],
    },
  };
}

/**
 * Writes the pods straight into the stand-in's store, already scheduled and running with their IPs (the
 * cluster's own controllers are not started: at 20,000 pods they would take minutes). Pods that ask for an
 * EIP get a secondary IP on one of the cloud's ENIs, so the binder can really bind them.
 */
function populate(kube: KubeSandbox, cloud: CloudSandbox, podCount: number, eipPodCount: number): void {
  const store = kube.store;
  const pods = store.resourceType('', 'pods')!;
  const namespaces = store.resourceType('', 'namespaces')!;
  for (let t = 0; t < 20; t += 1)
    store.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${t}` } });
  const every = Math.max(1, Math.floor(podCount / eipPodCount));
  let eni = '';
  let eniIps = IPS_PER_ENI;
  let enis = 0;
  for (let i = 0; i < podCount; i += 1) {
    const withEip = i % every === 0 && i / every < eipPodCount;
    let podIP = `172.${16 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
    if (withEip) {
      if (eniIps === IPS_PER_ENI) {
        eni = cloud.controls.createNetworkInterface({
          type: 'Secondary',
          instanceId: `i-bench${Math.floor(i / every / IPS_PER_ENI)}`,
          vSwitchId: `vsw-bench${Math.floor(enis / ENIS_PER_VSWITCH)}`,
        }).networkInterfaceId;
        enis += 1;
        eniIps = 0;
      }
      podIP = cloud.controls.assignPrivateIpAddress(eni);
      eniIps += 1;
    }
    const created = store.create(pods, benchPod(i, withEip));
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ready = { status: 'True', lastTransitionTime: now };
    store.update(
      pods,
      {
        ...created,
        status: {
          phase: 'Running',
          podIP,
          podIPs: [{ ip: podIP }],
          hostIP: '10.0.0.1',
          startTime: now,
          conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, ...ready })),
        },
      },
      { subresource: 'status' },
    );
  }
}

function forkChild(
  args: string[],
  nodeOptions: readonly string[] = [],
): { child: ChildProcess; next(kind: ChildMessage['kind']): Promise<ChildMessage> } {
  const child = fork(join(here, 'binder-child.js'), args, {
    execArgv: [
      '--expose-gc',
      ...nodeOptions,
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: ChildMessage[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (message: ChildMessage) => {
    if (message.kind === 'failed') console.error(`bench child failed: ${message.message}`);
    inbox.push(message);
    for (const wake of waiting.splice(0)) wake();
  });
  const next = async (kind: ChildMessage['kind']): Promise<ChildMessage> => {
    for (;;) {
      const index = inbox.findIndex((m) => m.kind === kind || m.kind === 'failed');
      if (index >= 0) {
        const [message] = inbox.splice(index, 1);
        if (message!.kind === 'failed') throw new Error('bench child failed');
        return message!;
      }
      if (child.exitCode !== null) throw new Error(`bench child exited with ${child.exitCode}`);
      await new Promise<void>((wake) => waiting.push(wake));
    }
  };
  return { child, next };
}

async function measure(handle: ReturnType<typeof forkChild>): Promise<Extract<ChildMessage, { kind: 'memory' }>> {
  handle.child.send('measure');
  return (await handle.next('memory')) as Extract<ChildMessage, { kind: 'memory' }>;
}

/** The stand-in's own cost of serving every pod, in pages of 500 as the binder lists them. */
async function timePagedPodList(kube: KubeSandbox): Promise<number> {
  const started = performance.now();
  let token = '';
  do {
    const path = `/api/v1/pods?limit=500${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`;
    const page = await new Promise<{ metadata?: { continue?: string } }>((resolve, reject) => {
      const url = new URL(path, kube.url);
      const req = httpsRequest(
        {
          host: url.hostname,
          port: url.port,
          path,
          ca: kube.caPem,
          headers: { authorization: `Bearer ${kube.token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        },
      );
      req.on('error', reject);
      req.end();
    });
    token = page.metadata?.continue ?? '';
  } while (token !== '');
  return (performance.now() - started) / 1000;
}

interface Measured {
  usage: NodeJS.MemoryUsage;
  peakRss: number;
  peakRssBeforeGc: number;
  cpuSeconds: number;
}

interface ScaleFigures {
  pods: number;
  eipPods: number;
  populatedS: number;
  listS: number;
  /** The binder that binds them, with the cloud limits scaled up so the burst takes seconds, not an hour. */
  binding: {
    syncS: number;
    reconciled: number;
    bound: number[];
    settled: boolean;
    startedAt: number;
    connectionsOpened: number;
    base: Measured;
    atSync: Measured;
    afterBinding: Measured;
    idle: Measured;
  };
  /** A binder restarted on the bound cluster with every setting at its default, the published limits included. */
  restart?: {
    syncS: number;
    startupPassS: number;
    startupCalls: Record<string, number>;
    steadyS: number;
    steadyCalls: Record<string, number>;
    gcSweeps: number;
    verifiedPerPeriod: number;
    atEnd: Measured;
  };
}

/** Counts since `before`, by action (successes and failures). */
function callsSince(
  cloud: CloudSandbox,
  before: Record<string, { ok: number; failed: number }>,
): Record<string, number> {
  const now = cloud.controls.callCounts();
  return Object.fromEntries(
    Object.entries(now)
      .map(([action, c]) => [action, c.ok + c.failed - ((before[action]?.ok ?? 0) + (before[action]?.failed ?? 0))])
      .filter(([, n]) => (n as number) > 0),
  );
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((sum, n) => sum + n, 0);

/**
 * Fills a cluster of `pods` pods, `eipPods` of them asking for an EIP; a binder process binds them all;
 * then, when `steadyS` > 0, a second binder with every setting at its default (as installed) starts on the
 * bound cluster, and its cloud calls are counted through one garbage-collection period.
 */
async function scaleRun(
  pods: number,
  eipPods: number,
  nodeOptions: readonly string[],
  steadyS: number,
): Promise<ScaleFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-bench-memory-'));
  const cloud = await startCloudSandbox({ rateLimitScale: 100, eipQuota: eipPods + 10 });
  const kube = await startKubeSandbox({ watchHistory: 1000 });
  const children: ChildProcess[] = [];
  try {
    for (const crd of [podEipCustomResourceDefinition(), eipPolicyCustomResourceDefinition()])
      await kube.api.create(
        kube.store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!,
        undefined,
        crd,
      );
    const populating = performance.now();
    populate(kube, cloud, pods, eipPods);
    const populatedS = (performance.now() - populating) / 1000;
    const files = { kubeconfig: join(dir, 'kubeconfig'), cloudJson: join(dir, 'cloud.json') };
    writeFileSync(files.kubeconfig, kube.kubeconfig(), { mode: 0o600 });
    const { endpoint, protocol, regionId, vpcId, accessKeyId, accessKeySecret } = cloud;
    writeFileSync(
      files.cloudJson,
      JSON.stringify({ endpoint, protocol, regionId, vpcId, accessKeyId, accessKeySecret }),
      { mode: 0o600 },
    );
    const configFile = binderConfigFile(dir, files, cloud, { scale: 100, windowS: 60, logLevel: 'warn' });

    const baseline = forkChild(['baseline'], nodeOptions);
    children.push(baseline.child);
    await baseline.next('started');
    const base = await measure(baseline);
    baseline.child.send('stop');

    const listS = await timePagedPodList(kube);
    const conditions = watchEipConditions(kube.store);
    const startedAt = performance.now();
    const connectionsBefore = kube.controls.connectionCount();
    const binder = forkChild(['binder', configFile], nodeOptions);
    children.push(binder.child);
    await binder.next('started');
    const synced = (await binder.next('synced')) as Extract<ChildMessage, { kind: 'synced' }>;
    const atSync = await measure(binder);
    // Done when every pod that asked was reconciled and the bound count has stopped moving.
    let lastBound = -1;
    let steadySince = performance.now();
    const settled = await until(() => {
      const bound = conditions.bound().length;
      if (bound !== lastBound) [lastBound, steadySince] = [bound, performance.now()];
      return (
        conditions.reconciled() >= eipPods &&
        (bound >= eipPods || (bound > 0 && performance.now() - steadySince > 10000))
      );
    }, 600000);
    conditions.stop();
    const bound = conditions.bound().sort((a, b) => a - b);
    const afterBinding = await measure(binder);
    // Then idle, as a binder is between bursts: V8's memory reducer runs only once allocation has calmed down.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const idle = await measure(binder);
    // Read before 'stop': releasing the Lease on the way out may open one more.
    const connectionsOpened = kube.controls.connectionCount() - connectionsBefore;
    binder.child.send('stop');
    await new Promise((resolve) => binder.child.once('exit', resolve));
    const figures: ScaleFigures = {
      pods,
      eipPods,
      populatedS,
      listS,
      binding: {
        syncS: synced.afterMs / 1000,
        reconciled: conditions.reconciled(),
        bound,
        settled,
        startedAt,
        connectionsOpened,
        base,
        atSync,
        afterBinding,
        idle,
      },
    };
    if (steadyS <= 0) return figures;

    const defaultsFile = binderConfigFile(dir, files, cloud, undefined);
    const beforeRestart = cloud.controls.callCounts();
    const restarted = forkChild(['binder', defaultsFile], nodeOptions);
    children.push(restarted.child);
    await restarted.next('started');
    const resynced = (await restarted.next('synced')) as Extract<ChildMessage, { kind: 'synced' }>;
    const syncedAt = performance.now();
    // The startup pass looks at every EIP pod once; it is over when the cloud has heard nothing for 5 s.
    let seen = -1;
    let quietSince = performance.now();
    await until(() => {
      const calls = total(callsSince(cloud, beforeRestart));
      if (calls !== seen) [seen, quietSince] = [calls, performance.now()];
      return performance.now() - quietSince > 5000;
    }, 600000);
    const startupPassS = (quietSince - syncedAt) / 1000;
    const startupCalls = callsSince(cloud, beforeRestart);
    const beforeSteady = cloud.controls.callCounts();
    await new Promise((resolve) => setTimeout(resolve, steadyS * 1000));
    const steadyCalls = callsSince(cloud, beforeSteady);
    const atEnd = await measure(restarted);
    restarted.child.send('stop');
    const loaded = loadBinderConfig({ file: defaultsFile, flags: {}, env: {} });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    return {
      ...figures,
      restart: {
        syncS: resynced.afterMs / 1000,
        startupPassS,
        startupCalls,
        steadyS,
        steadyCalls,
        gcSweeps: Math.floor((performance.now() - syncedAt) / 1000 / loaded.config.gc.periodSeconds),
        verifiedPerPeriod: verificationBudget(loaded.config),
        atEnd,
      },
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await kube.close();
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printScaleRun(run: ScaleFigures, nodeOptions: readonly string[]): void {
  const { binding, restart } = run;
  const since = (at: number | undefined): string =>
    at === undefined ? '-' : `${((at - binding.startedAt) / 1000).toFixed(1)} s`;
  const row = (name: string, m: Measured): string =>
    `  ${name.padEnd(46)}${(m.usage.heapUsed / MB).toFixed(1).padStart(9)}${(m.usage.heapTotal / MB).toFixed(1).padStart(11)}${(m.usage.rss / MB).toFixed(1).padStart(9)}${(m.peakRssBeforeGc / MB).toFixed(1).padStart(10)}${m.cpuSeconds.toFixed(1).padStart(9)}`;
  const flags =
    nodeOptions.length === 0
      ? "Node's default options"
      : `the options the binder is sized for (NODE_OPTIONS="${nodeOptions.join(' ')}")`;
  console.log(
    `\nbinder benchmark (b): ${run.pods} pods in the cluster, ${run.eipPods} asking for an EIP (written to the store in ${run.populatedS.toFixed(1)} s), binder run with ${flags}`,
  );
  console.log(
    `  binder caches synced ${binding.syncS.toFixed(1)} s after its process started (the stand-in alone serves the pods in pages of 500 in ${run.listS.toFixed(1)} s)`,
  );
  const b = binding.bound;
  console.log(
    `  ${binding.reconciled} of ${run.eipPods} pods reconciled, ${b.length} bound${binding.settled ? '' : ' (deadline)'} with the cloud limits ×100: first ${since(b[0])}, half ${since(b[Math.floor(b.length / 2)])}, last ${since(b[b.length - 1])} after the binder started`,
  );
  console.log(
    `  TLS connections the binder opened to the API server (watches and the Lease included): ${binding.connectionsOpened}`,
  );
  console.log(
    "  (heap used, heap committed and RSS after a full GC; peak RSS is the highest so far, read before that row's GC)",
  );
  console.log(
    `  ${'process'.padEnd(46)}${'heap MB'.padStart(9)}${'committed'.padStart(11)}${'RSS MB'.padStart(9)}${'peak RSS'.padStart(10)}${'CPU s'.padStart(9)}`,
  );
  console.log(row('baseline: the same modules loaded, nothing run', binding.base));
  console.log(row('binder: caches synced', binding.atSync));
  console.log(row('binder: every EIP pod reconciled', binding.afterBinding));
  console.log(row(`binder: ${SETTLE_MS / 1000} s later, idle`, binding.idle));
  if (restart !== undefined) console.log(row(`restarted binder, defaults: ${restart.steadyS} s steady`, restart.atEnd));
  console.log(
    `  binder minus baseline: heap ${((binding.idle.usage.heapUsed - binding.base.usage.heapUsed) / MB).toFixed(1)} MB, RSS ${((binding.idle.usage.rss - binding.base.usage.rss) / MB).toFixed(1)} MB; ` +
      `peak RSS while working ${(peakWorking(run) / MB).toFixed(0)} MB (aim <= 200 MB)`,
  );
  if (restart === undefined) return;
  console.log(
    `  restarted with every setting at its default: caches synced ${restart.syncS.toFixed(1)} s after start; startup pass over the ${run.eipPods} EIP pods took ${restart.startupPassS.toFixed(1)} s and ${total(restart.startupCalls)} cloud calls (${Object.entries(
      restart.startupCalls,
    )
      .map(([action, n]) => `${action} ${n}`)
      .join(', ')})`,
  );
  console.log(
    `  steady state over ${restart.steadyS} s (verification every 90 s, up to ${restart.verifiedPerPeriod} pods each; ${restart.gcSweeps} garbage collection sweep(s) by then), cloud calls per minute:`,
  );
  const minutes = restart.steadyS / 60;
  const actions = new Set([...Object.keys(PUBLISHED_PER_MINUTE), ...Object.keys(restart.steadyCalls)]);
  for (const action of [...actions].sort()) {
    const perMinute = (restart.steadyCalls[action] ?? 0) / minutes;
    const limit = PUBLISHED_PER_MINUTE[action] ?? DEFAULT_PER_MINUTE;
    console.log(
      `    ${action.padEnd(34)}${perMinute.toFixed(1).padStart(8)} /min  limit ${String(limit).padStart(4)}${PUBLISHED_PER_MINUTE[action] === undefined ? ' (not published)' : ''}  ${((100 * perMinute) / limit).toFixed(1).padStart(5)}%`,
    );
  }
}

/** The highest RSS any binder process of the run reached while working, before the bench's own forced GCs. */
function peakWorking(run: ScaleFigures): number {
  return Math.max(
    run.binding.afterBinding.peakRssBeforeGc,
    run.binding.idle.peakRssBeforeGc,
    run.restart?.atEnd.peakRssBeforeGc ?? 0,
  );
}

function printGrowth(runs: readonly ScaleFigures[]): void {
  console.log('\nbinder benchmark (b), growth with the cluster (the options the binder is sized for):');
  console.log(
    `  ${'pods'.padStart(8)}${'EIP pods'.padStart(10)}${'list s'.padStart(9)}${'sync s'.padStart(9)}${'restart sync s'.padStart(16)}${'idle RSS MB'.padStart(13)}${'peak RSS MB'.padStart(13)}${'describe/min'.padStart(14)}`,
  );
  for (const run of runs) {
    const describe =
      run.restart === undefined
        ? NaN
        : (run.restart.steadyCalls.DescribeEipAddresses ?? 0) / (run.restart.steadyS / 60);
    console.log(
      `  ${String(run.pods).padStart(8)}${String(run.eipPods).padStart(10)}${run.listS.toFixed(1).padStart(9)}${run.binding.syncS.toFixed(1).padStart(9)}${(run.restart?.syncS.toFixed(1) ?? '-').padStart(16)}${(run.binding.idle.usage.rss / MB).toFixed(0).padStart(13)}${(peakWorking(run) / MB).toFixed(0).padStart(13)}${(Number.isNaN(describe) ? '-' : describe.toFixed(1)).padStart(14)}`,
    );
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_BINDER;
  if (only === undefined || only === 'burst') await burst();
  if (only === undefined || only === 'memory') {
    const runs: ScaleFigures[] = [];
    for (const [index, size] of SCALE_SIZES.entries()) {
      const run = await scaleRun(size.pods, size.eipPods, BINDER_NODE_OPTIONS, STEADY_S);
      printScaleRun(run, BINDER_NODE_OPTIONS);
      runs.push(run);
      // Node's defaults once, at the largest size, to show what the sized options buy.
      if (index === SCALE_SIZES.length - 1 && process.env.BENCH_NODE_DEFAULTS !== '0')
        printScaleRun(await scaleRun(size.pods, size.eipPods, [], 0), []);
    }
    printGrowth(runs);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
