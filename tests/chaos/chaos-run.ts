/**
 * The release lifecycle under chaos: EIP pods of every kind (Deployments with Follow, rolled and scaled;
 * StatefulSets with Never and with a TTL; a one-replica Deployment with a static EIP, rolled; bare pods)
 * are created, deleted and rolled while the binder, a `podeip binder` process, is killed with SIGKILL at
 * random moments and restarted, and a share of cloud calls fail. Then the churn stops, the faults end, and
 * the world must converge to: no EIP with this cluster's tags that no PodEIP names, no EIP bound to an IP
 * no live pod holds, and every live EIP pod Ready with its EIP InUse on its own IP. The counts are printed.
 *
 * Used by tests/integration/chaos (a short run in `make test`) and by `make chaos` (the long one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE, PODEIP_OWNERSHIP_TAG_KEYS } from '../../api/constants.js';
import { MERGE_PATCH, STRATEGIC_MERGE_PATCH } from '../../api/kube/api-clients.js';
import { DEFAULT_RATE_LIMITS_PER_MINUTE } from '../../binder/cloud/alibaba-eip-cloud.js';
import { demoBinderJson } from '../../cli/demo/world.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { seededRandom } from '../../sandbox/kube/controls.js';
import type { KubeObject } from '../../sandbox/kube/types.js';

export interface ChaosOptions {
  /** Path of dist/cli/main.js. */
  cli: string;
  /** Roughly how many EIP pods exist at the height of the churn. */
  pods: number;
  /** SIGKILLs of the binder, at random moments. */
  kills: number;
  /**
   * The churn goes on until the API server has seen at least this many EIP pods created, whatever the seed
   * drew (scaling down and deleting StatefulSet pods create fewer than new bare pods do).
   */
  minPodsCreated?: number;
  /** Fraction of cloud calls that fail during the churn. */
  failureRate: number;
  /** How long the world may take to converge once the churn is over. */
  convergeMs: number;
  seed?: number;
  log?(line: string): void;
}

export interface ChaosResult {
  podsCreated: number;
  kills: number;
  cloudCalls: number;
  cloudCallsFailed: number;
  /** EIPs with this cluster's tags that no PodEIP names. */
  orphanEips: number;
  /** EIPs bound to an IP that no live pod holds. */
  strayAssociations: number;
  /** Live EIP pods not Ready with their EIP InUse on their IP. */
  unreadyPods: number;
  livePods: number;
  problems: string[];
}

const NS = 'default';
const CLUSTER_ID = 'c-chaos';
const GATE = [{ conditionType: EIP_CONDITION_TYPE }];
const STATIC_EIP = 'eip-chaosstatic1';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class BinderProcess {
  private child: ChildProcess | undefined;
  kills = 0;

  constructor(
    private readonly cli: string,
    private readonly configFile: string,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.child = spawn(process.execPath, [this.cli, 'binder', '--config', this.configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.log(`binder stderr: ${chunk.toString('utf8').trim()}`));
  }

  /** SIGKILL: no shutdown at all, as an OOM kill or a lost node would end it. */
  async kill(): Promise<void> {
    if (await this.end('SIGKILL')) this.kills++;
  }

  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<boolean> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return false;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    return true;
  }
}

function workloadBody(
  kind: 'Deployment' | 'StatefulSet',
  name: string,
  replicas: number,
  annotations: Record<string, string>,
): Record<string, unknown> {
  const labels = { app: name };
  return {
    metadata: { name },
    spec: {
      replicas,
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations },
        // As the webhook injects it: not Ready, and no rollout step, until the EIP is bound.
        spec: { readinessGates: GATE, containers: [{ name: 'app', image: 'nginx:1.27' }] },
      },
    },
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const rand = seededRandom(options.seed ?? 20261204);
  const sandbox: Sandbox = await startSandbox({
    installPodEipCrd: true,
    cloud: {
      seed: options.seed ?? 7,
      transitionDelays: { associateMs: 100, unassociateMs: 100, releaseMs: 100, bandwidthPackageMs: 100 },
      // Ten times the published limits, so the churn is bound by the binder, not by the stand-in.
      rateLimitScale: 10,
    },
    cluster: {
      nodes: 3,
      warmPool: true,
      timing: { initContainerMs: 20, containerStartMs: 30, terminationMs: 60, reconcileMs: 300 },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'podeip-chaos-'));
  const files = sandbox.writeFiles(dir);
  const configFile = join(dir, 'binder.json');
  // The demo's binder.json for this sandbox, with the chaos run's pace: a short Lease, quick verification and
  // sweeps, and the client-side limits at ten times the published ones, as the stand-in's are.
  const base = demoBinderJson(sandbox, files) as { cloud: Record<string, unknown> };
  const rateLimitsPerMinute = Object.fromEntries(
    Object.entries(DEFAULT_RATE_LIMITS_PER_MINUTE).map(([api, perMinute]) => [api, perMinute * 10]),
  );
  writeFileSync(
    configFile,
    JSON.stringify({
      ...base,
      clusterId: CLUSTER_ID,
      workers: 16,
      verifySeconds: 5,
      gc: { periodSeconds: 2, orphanGraceSeconds: 4 },
      cloud: { ...base.cloud, readTimeoutMs: 3000, connectTimeoutMs: 1000, rateLimitsPerMinute },
      leaderElection: {
        enabled: true,
        namespace: NS,
        leaseDurationSeconds: 2,
        renewDeadlineSeconds: 1.5,
        retryPeriodSeconds: 0.2,
      },
      log: { level: 'warn' },
    }),
  );
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromString(sandbox.kube.kubeconfig());
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const binder = new BinderProcess(options.cli, configFile, log);
  const controls = sandbox.cloud.controls;
  controls.createEip({ allocationId: STATIC_EIP, name: 'chaos static' });
  // Kept EIPs (Never, TTL) and replaced pods add up beyond the account's default 20.
  controls.setEipQuota(1000);

  // Every EIP pod the cluster created, counted as the API server saw it, not as intended.
  let podsCreated = 0;
  const podType = sandbox.kube.store.resourceType('', 'pods')!;
  const counting = sandbox.kube.store.watch(podType, {}, (event) => {
    if (event.type === 'ADDED') podsCreated++;
  });
  try {
    binder.start();
    controls.setFaults({ failureRate: options.failureRate });

    // A binder killed at random moments, restarted at once: the next one waits out the Lease.
    const killer = (async () => {
      for (let i = 0; i < options.kills; i++) {
        await sleep(300 + rand() * 1500);
        await binder.kill();
        binder.start();
      }
    })();

    const perWorkload = Math.max(2, Math.floor(options.pods / 8));
    const follow = { 'k8s.aliyun.com/pod-with-eip': 'true' };
    const workloads: Array<['Deployment' | 'StatefulSet', string, number, Record<string, string>]> = [
      ['Deployment', 'web-a', perWorkload, follow],
      ['Deployment', 'web-b', perWorkload, follow],
      ['StatefulSet', 'db-never', perWorkload, { ...follow, 'k8s.aliyun.com/pod-eip-release-strategy': 'Never' }],
      ['StatefulSet', 'db-ttl', perWorkload, { ...follow, 'k8s.aliyun.com/pod-eip-release-strategy': '3s' }],
      ['Deployment', 'gateway', 1, { 'k8s.aliyun.com/pod-eip-instanceid': STATIC_EIP }],
    ];
    for (const [kind, name, replicas, annotations] of workloads) {
      const body = workloadBody(kind, name, replicas, annotations);
      if (kind === 'Deployment') await apps.createNamespacedDeployment({ namespace: NS, body });
      else await apps.createNamespacedStatefulSet({ namespace: NS, body });
    }

    const churn = (async () => {
      const rounds = Math.max(6, options.kills);
      const enough = options.minPodsCreated ?? 0;
      // Bounded, so that a churn that cannot reach the count (a broken controller) still ends and is reported.
      const maxRounds = rounds * 20;
      for (let round = 0; round < maxRounds && (round < rounds || podsCreated < enough); round++) {
        await sleep(400 + rand() * 800);
        const step = Math.floor(rand() * 5);
        if (step === 0) {
          // Roll a Deployment (the static one included) to a new revision.
          const name = rand() < 0.5 ? 'gateway' : rand() < 0.5 ? 'web-a' : 'web-b';
          const body = { spec: { template: { metadata: { annotations: { revision: String(round) } } } } };
          await apps.patchNamespacedDeployment({ namespace: NS, name, body }, STRATEGIC_MERGE_PATCH);
        } else if (step === 1) {
          const replicas = 1 + Math.floor(rand() * perWorkload * 1.5);
          await apps.patchNamespacedDeploymentScale(
            { namespace: NS, name: 'web-b', body: { spec: { replicas } } },
            MERGE_PATCH,
          );
        } else if (step === 2) {
          // Delete a StatefulSet pod: it comes back under its name and takes its kept EIP again.
          const name = `${rand() < 0.5 ? 'db-never' : 'db-ttl'}-${Math.floor(rand() * perWorkload)}`;
          await core.deleteNamespacedPod({ namespace: NS, name }).catch(() => undefined);
        } else {
          const name = `bare-${round}`;
          await core.createNamespacedPod({
            namespace: NS,
            body: {
              metadata: { name, annotations: follow },
              spec: { readinessGates: GATE, containers: [{ name: 'app', image: 'nginx:1.27' }] },
            },
          });
          if (round > 0 && rand() < 0.7)
            await core.deleteNamespacedPod({ namespace: NS, name: `bare-${round - 1}` }).catch(() => undefined);
        }
      }
      // The TTL StatefulSet goes for good: its EIPs must be released once their TTL has passed.
      await apps.deleteNamespacedStatefulSet({ namespace: NS, name: 'db-ttl' });
    })();

    await Promise.all([killer, churn]);
    // The faults stay on: the binder must converge through them too.
    log(`churn over: ${podsCreated} pods created, ${binder.kills} kills; converging with the faults still on`);

    const result = await converge(sandbox, options.convergeMs);
    const calls = Object.values(sandbox.cloud.controls.callCounts());
    return {
      ...result,
      podsCreated,
      kills: binder.kills,
      cloudCalls: calls.reduce((sum, c) => sum + c.ok + c.failed, 0),
      cloudCallsFailed: calls.reduce((sum, c) => sum + c.failed, 0),
    };
  } finally {
    counting.stop();
    controls.setFaults({});
    await binder.stop();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type WorldState = Omit<ChaosResult, 'podsCreated' | 'kills' | 'cloudCalls' | 'cloudCallsFailed'>;

function snapshot(sandbox: Sandbox): WorldState {
  const store = sandbox.kube.store;
  const pods = store.list(store.resourceType('', 'pods')!, { namespace: NS }).items as KubeObject[];
  const podEips = store.list(store.resourceType('alibabacloud.com', 'podeips')!, {}).items as KubeObject[];
  const named = new Set(podEips.map((p) => String((p.spec as { allocationID?: string }).allocationID ?? '')));
  const eips = sandbox.cloud.controls.eips();
  const live = pods.filter((pod) => pod.metadata.deletionTimestamp === undefined);
  const liveIps = new Set(live.map((pod) => String((pod.status as { podIP?: string } | undefined)?.podIP ?? '')));
  const problems: string[] = [];
  const orphans = eips.filter(
    (eip) =>
      eip.tags.some((t) => t.key === PODEIP_OWNERSHIP_TAG_KEYS.clusterId && t.value === CLUSTER_ID) &&
      !named.has(eip.allocationId),
  );
  for (const eip of orphans) problems.push(`orphan ${eip.allocationId} (${eip.status})`);
  // Bound to an IP no live pod holds, or to a live pod whose PodEIP names another EIP (another's traffic).
  const holderOf = (ip: string): KubeObject | undefined =>
    live.find((pod) => (pod.status as { podIP?: string } | undefined)?.podIP === ip);
  const stray = eips.filter((eip) => {
    if (eip.status !== 'InUse') return false;
    const holder = holderOf(eip.privateIpAddress);
    if (holder === undefined || !liveIps.has(eip.privateIpAddress)) return true;
    const record = podEips.find(
      (p) => p.metadata.name === holder.metadata.name && p.metadata.namespace === holder.metadata.namespace,
    );
    return String((record?.spec as { allocationID?: string } | undefined)?.allocationID ?? '') !== eip.allocationId;
  });
  for (const eip of stray) {
    const holder = holderOf(eip.privateIpAddress)?.metadata.name ?? 'no live pod';
    const owner = eip.tags.find((t) => t.key === PODEIP_OWNERSHIP_TAG_KEYS.podName)?.value ?? 'not podeip’s';
    problems.push(`${eip.allocationId} (allocated for ${owner}) bound to ${eip.privateIpAddress}, held by ${holder}`);
  }
  const eipPods = live.filter((pod) =>
    Object.keys(pod.metadata.annotations ?? {}).some(
      (k) => k === 'k8s.aliyun.com/pod-with-eip' || k === 'k8s.aliyun.com/pod-eip-instanceid',
    ),
  );
  let unready = 0;
  for (const pod of eipPods) {
    const conditions =
      (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
    const readyCondition = conditions.find((c) => c.type === 'Ready')?.status === 'True';
    const ip = String((pod.status as { podIP?: string } | undefined)?.podIP ?? '');
    const address = pod.metadata.annotations?.['k8s.aliyun.com/allocated-eipAddress'];
    const bound = eips.find(
      (eip) => eip.ipAddress === address && eip.status === 'InUse' && eip.privateIpAddress === ip,
    );
    // Of a static EIP's workload, only the pod holding it can be Ready; a rollout's older pod may still wait.
    if (!readyCondition || bound === undefined) {
      unready++;
      const eipCondition = conditions.find((c) => c.type === EIP_CONDITION_TYPE) as
        { status: string; reason?: string; message?: string } | undefined;
      const record = podEips.find((p) => p.metadata.name === pod.metadata.name);
      problems.push(
        `${pod.metadata.name}: Ready ${readyCondition}, EIP ${address ?? 'none'} on ${ip || 'no IP'}; condition ` +
          `${eipCondition ? `${eipCondition.status} ${eipCondition.reason ?? ''}: ${eipCondition.message ?? ''}` : 'none'}; ` +
          `PodEIP ${record ? JSON.stringify({ spec: record.spec, status: record.status }) : 'none'}; on its IP: ` +
          JSON.stringify(
            eips
              .filter((eip) => ip !== '' && eip.privateIpAddress === ip)
              .map((eip) => ({ id: eip.allocationId, status: eip.status, tags: eip.tags })),
          ),
      );
    }
  }
  return {
    orphanEips: orphans.length,
    strayAssociations: stray.length,
    unreadyPods: unready,
    livePods: eipPods.length,
    problems,
  };
}

async function converge(sandbox: Sandbox, timeoutMs: number): Promise<WorldState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = snapshot(sandbox);
    if (state.problems.length === 0 || Date.now() > deadline) return state;
    await sleep(250);
  }
}
