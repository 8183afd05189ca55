/**
 * `make bench` (binder part), figures only:
 * (a) a burst of pods asking for EIPs at once, against the cloud stand-in with its per-minute limits
 *     scaled down (×0.1 over a 6 s window, the binder's buckets likewise), timed from the first create to
 *     the last condition True, beside the floor those limits allow; with cloud calls per pod and the
 *     Throttling answers the cloud gave.
 * (b) the binder's memory in a cluster of 20,000 pods of which 1,000 ask for an EIP, in a process of its
 *     own, beside a baseline process that only loads the same modules: at sync, right after the burst of
 *     binds, 30 s later when idle, and the peak (read before the bench's own forced GCs, which need room
 *     of their own); with the heap V8 has committed beside what is live, and the TLS connections the
 *     binder opened; once with the Node options the binder is meant to run with (binder/runtime.ts) and
 *     once with Node's defaults.
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
import { podEipCustomResourceDefinition } from '../../api/podeip.js';
import { CLOUD_API_NAMES } from '../../binder/cloud/eip-cloud.js';
import { start as startBinder } from '../../binder/index.js';
import { loadBinderConfig } from '../../cli/binder-config.js';
import { createLogger } from '../../cli/logger.js';
import { BINDER_NODE_OPTIONS } from '../../binder/runtime.js';
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
const MEMORY_PODS = Number(process.env.BENCH_MEMORY_PODS ?? 20000);
const MEMORY_EIP_PODS = Number(process.env.BENCH_MEMORY_EIP_PODS ?? 1000);
const IPS_PER_ENI = 50;
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
  limits: { scale: number; windowS: number; logLevel: string },
): string {
  const path = join(dir, 'binder.json');
  const config = {
    clusterId: 'bench',
    kubeconfig: files.kubeconfig,
    cloud: {
      regionId: cloud.regionId,
      vpcId: cloud.vpcId,
      endpoint: cloud.endpoint,
      protocol: 'http',
      credentials: { source: 'key-file', path: files.cloudJson },
      rateLimitsPerMinute: Object.fromEntries(CLOUD_API_NAMES.map((api) => [api, standInLimit(api, limits.scale)])),
      rateLimitWindowSeconds: limits.windowS,
    },
    leaderElection: { enabled: false },
    ...(BURST_WORKERS === undefined ? {} : { workers: Number(BURST_WORKERS) }),
    server: { host: '127.0.0.1', port: 0 },
    log: { level: limits.logLevel },
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
function populate(kube: KubeSandbox, cloud: CloudSandbox): void {
  const store = kube.store;
  const pods = store.resourceType('', 'pods')!;
  const namespaces = store.resourceType('', 'namespaces')!;
  for (let t = 0; t < 20; t += 1)
    store.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${t}` } });
  const every = Math.max(1, Math.floor(MEMORY_PODS / MEMORY_EIP_PODS));
  let eni = '';
  let eniIps = IPS_PER_ENI;
  for (let i = 0; i < MEMORY_PODS; i += 1) {
    const withEip = i % every === 0 && i / every < MEMORY_EIP_PODS;
    let podIP = `172.${16 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
    if (withEip) {
      if (eniIps === IPS_PER_ENI) {
        eni = cloud.controls.createNetworkInterface({
          type: 'Secondary',
          instanceId: `i-bench${Math.floor(i / every / IPS_PER_ENI)}`,
        }).networkInterfaceId;
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
    execArgv: ['--expose-gc', ...nodeOptions],
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

/** Two /24 documentation ranges, less the network and broadcast addresses of each. */
const PUBLIC_POOL = 2 * 254;

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

async function memory(nodeOptions: readonly string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-bench-memory-'));
  const cloud = await startCloudSandbox({ rateLimitScale: 100, eipQuota: MEMORY_EIP_PODS + 10 });
  const kube = await startKubeSandbox({ watchHistory: 1000 });
  const children: ChildProcess[] = [];
  try {
    await kube.api.create(
      kube.store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!,
      undefined,
      podEipCustomResourceDefinition(),
    );
    const populating = performance.now();
    populate(kube, cloud);
    const populatedS = (performance.now() - populating) / 1000;
    const files = { kubeconfig: join(dir, 'kubeconfig'), cloudJson: join(dir, 'cloud.json') };
    writeFileSync(files.kubeconfig, kube.kubeconfig(), { mode: 0o600 });
    const { endpoint, protocol, regionId, vpcId, accessKeyId, accessKeySecret } = cloud;
    writeFileSync(
      files.cloudJson,
      JSON.stringify({ endpoint, protocol, regionId, vpcId, accessKeyId, accessKeySecret }),
      { mode: 0o600 },
    );
    // Error only: the stand-in's public pool (two /24s) runs dry before 1,000 EIPs, and each refusal is a warning.
    const configFile = binderConfigFile(dir, files, cloud, { scale: 100, windowS: 60, logLevel: 'error' });

    const baseline = forkChild(['baseline'], nodeOptions);
    children.push(baseline.child);
    await baseline.next('started');
    const base = await measure(baseline);
    baseline.child.send('stop');

    const listS = await timePagedPodList(kube);
    const conditions = watchEipConditions(kube.store);
    const started = performance.now();
    const connectionsBefore = kube.controls.connectionCount();
    const binder = forkChild(['binder', configFile], nodeOptions);
    children.push(binder.child);
    await binder.next('started');
    const synced = (await binder.next('synced')) as Extract<ChildMessage, { kind: 'synced' }>;
    const atSync = await measure(binder);
    // Done when every pod that asked was reconciled and the bound count has stopped moving (the pool is finite).
    let lastBound = -1;
    let steadySince = performance.now();
    const settled = await until(() => {
      const bound = conditions.bound().length;
      if (bound !== lastBound) [lastBound, steadySince] = [bound, performance.now()];
      return (
        conditions.reconciled() >= MEMORY_EIP_PODS &&
        (bound >= MEMORY_EIP_PODS || (bound > 0 && performance.now() - steadySince > 10000))
      );
    }, 300000);
    conditions.stop();
    const bound = conditions.bound().sort((a, b) => a - b);
    const afterBinding = await measure(binder);
    // Then idle, as a binder is between bursts: V8's memory reducer runs only once allocation has calmed down.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const settledAfter = await measure(binder);
    // Read before 'stop': releasing the Lease on the way out may open one more.
    const connectionsOpened = kube.controls.connectionCount() - connectionsBefore;
    binder.child.send('stop');

    const since = (at: number | undefined): string =>
      at === undefined ? '-' : `${((at - started) / 1000).toFixed(1)} s`;
    const row = (name: string, m: Extract<ChildMessage, { kind: 'memory' }>): string =>
      `  ${name.padEnd(46)}${(m.usage.heapUsed / MB).toFixed(1).padStart(9)}${(m.usage.heapTotal / MB).toFixed(1).padStart(11)}${(m.usage.rss / MB).toFixed(1).padStart(9)}${(m.peakRssBeforeGc / MB).toFixed(1).padStart(10)}${m.cpuSeconds.toFixed(1).padStart(9)}`;
    const flags =
      nodeOptions.length === 0
        ? "Node's default options"
        : `the options the binder is sized for (NODE_OPTIONS="${nodeOptions.join(' ')}")`;
    console.log(
      `\nbinder benchmark (b): ${MEMORY_PODS} pods in the cluster, ${MEMORY_EIP_PODS} asking for an EIP (written to the store in ${populatedS.toFixed(1)} s), binder run with ${flags}`,
    );
    console.log(
      `  binder caches synced ${(synced.afterMs / 1000).toFixed(1)} s after its process started (the stand-in alone serves the pods in pages of 500 in ${listS.toFixed(1)} s)`,
    );
    console.log(
      `  ${conditions.reconciled()} of ${MEMORY_EIP_PODS} pods reconciled, ${bound.length} bound${settled ? '' : ' (deadline)'}: first ${since(bound[0])}, half ${since(bound[Math.floor(bound.length / 2)])}, last ${since(bound[bound.length - 1])} after the binder started`,
    );
    console.log(
      `  (the stand-in's public pool holds ${PUBLIC_POOL} addresses; pods beyond it get ReserveIpFail and their condition says so)`,
    );
    console.log(
      `  TLS connections the binder opened to the API server (watches and the Lease included): ${connectionsOpened}`,
    );
    console.log(
      "  (heap used, heap committed and RSS after a full GC; peak RSS is the highest so far, read before that row's GC)",
    );
    console.log(
      `  ${'process'.padEnd(46)}${'heap MB'.padStart(9)}${'committed'.padStart(11)}${'RSS MB'.padStart(9)}${'peak RSS'.padStart(10)}${'CPU s'.padStart(9)}`,
    );
    console.log(row('baseline: the same modules loaded, nothing run', base));
    console.log(row('binder: caches synced', atSync));
    console.log(row('binder: every EIP pod reconciled', afterBinding));
    console.log(row(`binder: ${SETTLE_MS / 1000} s later, idle`, settledAfter));
    // maxRSS never falls, so the sync row's forced GCs are inside every later peak: the burst's own peak is
    // known only when it went higher than they did.
    const burstPeak =
      afterBinding.peakRssBeforeGc > atSync.peakRss
        ? `${(afterBinding.peakRssBeforeGc / MB).toFixed(0)} MB`
        : `at most ${(afterBinding.peakRssBeforeGc / MB).toFixed(0)} MB (the sync row's own GC went as high)`;
    console.log(
      `  binder minus baseline: heap ${((settledAfter.usage.heapUsed - base.usage.heapUsed) / MB).toFixed(1)} MB, RSS ${((settledAfter.usage.rss - base.usage.rss) / MB).toFixed(1)} MB; ` +
        `binder RSS ${(afterBinding.usage.rss / MB).toFixed(0)} MB right after the burst, ${(settledAfter.usage.rss / MB).toFixed(0)} MB idle, ` +
        `peak ${burstPeak} while working (aim < 200 MB; ${(settledAfter.peakRss / MB).toFixed(0)} MB counting the bench's own forced GCs)`,
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await kube.close();
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_BINDER;
  if (only === undefined || only === 'burst') await burst();
  if (only === undefined || only === 'memory') {
    await memory(BINDER_NODE_OPTIONS);
    await memory([]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
