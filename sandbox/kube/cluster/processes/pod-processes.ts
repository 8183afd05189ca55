/**
 * The sandbox kubelet's container runtime for images it can run locally (podeip's own): each such pod gets
 * a pod sandbox (a network namespace with the pod's IP, see pod-sandbox-shim.ts), its volumes on disk, and
 * a process per container started as container-launch.ts decides, with probes deciding readiness and
 * liveness. The pure runtime (pod-runtime.ts) keeps the pod's timeline; `sync` brings it in line with what
 * the processes really do: they start, exit, restart with back-off, get ready, and stop within the grace
 * period when the pod is deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { isRecord } from '../../../../api/is-record.js';
import { KUBERNETES_SERVICE_IP } from '../../sandbox.js';
import type { ClusterStore, KubeObject } from '../../types.js';
import type { ClusterTypes } from '../cluster-writer.js';
import { isTerminating, jsonList, specOf, timestampMs, type Json } from '../object-facts.js';
import { containerId, isRunning, type ContainerRun, type PodRuntime } from '../pod-runtime.js';
import { containerLaunch, localImageFor, type LocalImages } from './container-launch.js';
import { openHostServices, type HostServices } from './host-services.js';
import { startProbeWorkers } from './probe-workers.js';
import type { ProbeTarget } from './probes.js';
import type { PodSandboxSpec } from './sandbox-spec.js';
import { mountedVolumes, volumeContent, writeVolume, type VolumeSources } from './volumes.js';

export interface ProcessRuntimeOptions {
  /** Images the kubelet runs as local processes; pods using any other image are simulated as before. */
  images: LocalImages;
  /** The API server on the host; pods reach it at the `kubernetes` Service's address, 10.96.0.1:443. */
  apiServer: { host: string; port: number };
  /** Host loopback ports the pods may reach at 127.0.0.1:PORT (the cloud stand-in, for instance). */
  hostPorts?: number[];
  issueToken(
    subject: { namespace: string; serviceAccount: { name: string; uid: string }; pod: { name: string; uid: string } },
    options: { audiences?: string[]; expirationSeconds?: number },
  ): { token: string; expiresAt: number };
  /** Each line a container writes to stdout or stderr. */
  onOutput?(pod: { namespace: string; name: string }, container: string, line: string): void;
  /**
   * Readiness probes run at most this far apart, whatever periodSeconds says, so that a pod is Ready a
   * moment after its server listens rather than a whole period later. Default 500 ms.
   */
  probePeriodCapMs?: number;
}

/** What the kubelet is told about, to record as Events on the pod and to reconcile again. */
export interface ProcessEvents {
  warning(pod: KubeObject, reason: string, message: string, fieldPath?: string): void;
  normal(pod: KubeObject, reason: string, message: string, fieldPath?: string): void;
  changed(namespace: string, name: string): void;
}

interface LiveContainer {
  name: string;
  containerId: string;
  child: ChildProcess;
  uid: number;
  exit?: { code: number; at: number };
  ready: boolean;
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
}

interface LivePod {
  namespace: string;
  name: string;
  dir: string;
  podIp: string;
  hostIp: string;
  shim: ChildProcess;
  ports: Map<number, string>;
  containers: Map<string, LiveContainer>;
  volumeDirs: Map<string, string>;
  tokens: Map<string, { token: string; refreshAt: number }>;
  /** The last FailedMount or Failed message, so a repeated failure is one Event, not one per sync. */
  lastFailure?: string;
}

/** Where the kubelet keeps pod folders, as /var/lib/kubelet does: outside the paths manifests mount over. */
const STATE_ROOT = '/var/lib/podeip-sandbox';
const DEFAULT_PROBE_PERIOD_CAP_MS = 500;
const MAX_BACKOFF_MS = 30_000;

function shimScript(): string {
  const here = import.meta.url;
  // Compiled, the shim sits beside this file; from the TypeScript sources (the tests), it is the build's.
  const url = here.endsWith('.ts')
    ? new URL('../../../../dist/sandbox/kube/cluster/processes/pod-sandbox-shim.js', here)
    : new URL('./pod-sandbox-shim.js', here);
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new Error(`${path} is missing: build the project first (make build)`);
  return path;
}

function containerPorts(pod: KubeObject): number[] {
  const ports = jsonList(specOf(pod).containers).flatMap((c) =>
    jsonList(c.ports)
      .filter((p) => (p.protocol ?? 'TCP') === 'TCP')
      .map((p) => Number(p.containerPort)),
  );
  return [...new Set(ports)];
}

function dataOf(object: KubeObject | undefined, kind: 'configMap' | 'secret'): Record<string, Buffer> | undefined {
  if (object === undefined) return undefined;
  const raw = object as unknown as { data?: Record<string, string>; binaryData?: Record<string, string> };
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(raw.data ?? {}))
    data[key] = kind === 'secret' ? Buffer.from(value, 'base64') : Buffer.from(value);
  for (const [key, value] of Object.entries(raw.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
  return data;
}

export class PodProcesses {
  private readonly root = join(STATE_ROOT, randomBytes(6).toString('hex'));
  private readonly pods = new Map<string, LivePod>();
  private hostServices: HostServices | undefined;
  private readonly probeCapMs: number;
  private closed = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly options: ProcessRuntimeOptions,
    private readonly store: ClusterStore,
    private readonly types: ClusterTypes,
    private readonly events: ProcessEvents,
    private readonly logger: Logger,
  ) {
    this.probeCapMs = options.probePeriodCapMs ?? DEFAULT_PROBE_PERIOD_CAP_MS;
  }

  /** Opens the host side of the pods' egress: a unix socket per host service. */
  private async openEgress(): Promise<void> {
    const opened = await openHostServices(join(this.root, 'host'), [
      { host: KUBERNETES_SERVICE_IP, port: 443, to: this.options.apiServer },
      ...(this.options.hostPorts ?? []).map((port) => ({ host: '127.0.0.1', port, to: { host: '127.0.0.1', port } })),
    ]);
    this.hostServices = opened;
  }

  /** Pods whose every container this runtime can run; pods with init containers stay simulated. */
  runsLocally(pod: KubeObject): boolean {
    const spec = specOf(pod);
    const containers = jsonList(spec.containers);
    return (
      jsonList(spec.initContainers).length === 0 &&
      containers.length > 0 &&
      containers.every((c) => localImageFor(this.options.images, String(c.image)) !== undefined)
    );
  }

  podUids(): string[] {
    return [...this.pods.keys()];
  }

  /** The host-side socket of a pod's container port: how a Service or a probe reaches the process. */
  socketFor(uid: string, port: number): string | undefined {
    return this.pods.get(uid)?.ports.get(port);
  }

  /** Starts the pod sandbox (once); resolves when it listens. */
  async ensureSandbox(pod: KubeObject, podIp: string, hostIp: string): Promise<void> {
    const uid = pod.metadata.uid!;
    if (this.pods.has(uid)) return;
    this.started ??= this.openEgress();
    await this.started;
    if (this.pods.has(uid)) return;
    const dir = join(this.root, 'pods', uid);
    mkdirSync(join(dir, 'ports'), { recursive: true, mode: 0o700 });
    const ports = new Map(containerPorts(pod).map((port) => [port, join(dir, 'ports', `${port}.sock`)]));
    const spec: PodSandboxSpec = {
      podIp,
      egress: this.hostServices!.routes,
      ingress: [...ports].map(([port, socket]) => ({ port, socket })),
    };
    const specFile = join(dir, 'sandbox.json');
    writeFileSync(specFile, JSON.stringify(spec));
    const shim = spawn(
      'unshare',
      ['--net', '--', 'setpriv', '--pdeathsig=SIGTERM', '--', process.execPath, shimScript(), specFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      shim.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      shim.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('ready')) resolve();
      });
      shim.once('exit', (code) => reject(new Error(`pod sandbox exited with ${code}: ${stderr.trim()}`)));
      shim.once('error', reject);
    });
    this.pods.set(uid, {
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      dir,
      podIp,
      hostIp,
      shim,
      ports,
      containers: new Map(),
      volumeDirs: new Map(),
      tokens: new Map(),
    });
    this.logger.info({ namespace: pod.metadata.namespace, pod: pod.metadata.name, uid, podIp }, 'pod sandbox started');
  }

  private volumeSources(live: LivePod): VolumeSources {
    return {
      configMap: (namespace, name) => dataOf(this.store.get(this.types.configMaps, namespace, name), 'configMap'),
      secret: (namespace, name) => dataOf(this.store.get(this.types.secrets, namespace, name), 'secret'),
      token: (pod, volume, source) => {
        const now = Date.now();
        const known = live.tokens.get(volume);
        if (known !== undefined && now < known.refreshAt) return known.token;
        const accountName = String(specOf(pod).serviceAccountName ?? 'default');
        const account = this.store.get(this.types.serviceAccounts, pod.metadata.namespace, accountName);
        const issued = this.options.issueToken(
          {
            namespace: pod.metadata.namespace!,
            serviceAccount: { name: accountName, uid: account?.metadata.uid ?? '' },
            pod: { name: pod.metadata.name!, uid: pod.metadata.uid! },
          },
          {
            ...(source.audience === undefined ? {} : { audiences: [source.audience] }),
            ...(source.expirationSeconds === undefined ? {} : { expirationSeconds: source.expirationSeconds }),
          },
        );
        // The kubelet refreshes a projected token once 80% of its life has passed.
        live.tokens.set(volume, { token: issued.token, refreshAt: now + (issued.expiresAt - now) * 0.8 });
        return issued.token;
      },
    };
  }

  /** Writes (or refreshes) the pod's volumes; the FailedMount message when one cannot be set up. */
  syncVolumes(pod: KubeObject): string | undefined {
    const live = this.pods.get(pod.metadata.uid!);
    if (live === undefined) return 'pod sandbox not started';
    const podSecurity = isRecord(specOf(pod).securityContext) ? specOf(pod).securityContext : {};
    const fsGroup =
      typeof (podSecurity as Json).fsGroup === 'number' ? ((podSecurity as Json).fsGroup as number) : undefined;
    for (const volume of mountedVolumes(pod)) {
      const name = String(volume.name);
      const dir = join(live.dir, 'volumes', name);
      const content = volumeContent(pod, volume, this.volumeSources(live));
      if (!content.ok) return `MountVolume.SetUp failed for volume "${name}" : ${content.error}`;
      if (content.content.kind === 'emptyDir') {
        if (!existsSync(dir)) {
          // The kubelet makes an emptyDir world-writable (with the sticky bit, as /tmp is).
          mkdirSync(dir, { recursive: true });
          chmodSync(dir, 0o1777);
        }
      } else writeVolume(dir, content.content.files, fsGroup);
      live.volumeDirs.set(name, dir);
    }
    return undefined;
  }

  private failOnce(pod: KubeObject, live: LivePod, reason: string, message: string, fieldPath?: string): void {
    if (live.lastFailure === message) return;
    live.lastFailure = message;
    this.events.warning(pod, reason, message, fieldPath);
  }

  private startContainer(pod: KubeObject, live: LivePod, container: Json, run: ContainerRun): boolean {
    const name = String(container.name);
    const image = localImageFor(this.options.images, String(container.image))!;
    const scratchDir = join(live.dir, 'scratch', `${name}-${run.restartCount}`);
    mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
    const launched = containerLaunch(pod, container, image, {
      sandboxPid: live.shim.pid!,
      podIp: live.podIp,
      hostIp: live.hostIp,
      volumeDirs: live.volumeDirs,
      scratchDir,
      apiService: { host: KUBERNETES_SERVICE_IP, port: 443 },
      dataOf: (kind, namespace, objectName) => {
        const data = dataOf(
          this.store.get(kind === 'secret' ? this.types.secrets : this.types.configMaps, namespace, objectName),
          kind,
        );
        return data === undefined
          ? undefined
          : Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.toString('utf8')]));
      },
    });
    const fieldPath = `spec.containers{${name}}`;
    if (!launched.ok) {
      this.failOnce(pod, live, 'Failed', `Error: ${launched.error}`, fieldPath);
      return false;
    }
    const [command, ...args] = launched.launch.argv;
    const child = spawn(command!, args, { env: launched.launch.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry: LiveContainer = {
      name,
      containerId: run.containerId,
      child,
      uid: launched.launch.uid,
      ready: false,
      stopping: false,
      timers: new Set(),
    };
    live.containers.set(run.containerId, entry);
    const logFile = join(live.dir, 'logs', `${name}_${run.restartCount}.log`);
    mkdirSync(join(live.dir, 'logs'), { recursive: true });
    const relay = (chunk: Buffer): void => {
      appendFileSync(logFile, chunk);
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') this.options.onOutput?.({ namespace: live.namespace, name: live.name }, name, line);
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
    child.on('error', (error) => relay(Buffer.from(`${error.message}\n`)));
    child.on('exit', (code, signal) => {
      // A runtime reports a process a signal ended as 128 + the signal's number (137 for SIGKILL).
      entry.exit = { code: code ?? 128 + (signal === null ? 0 : constants.signals[signal]), at: Date.now() };
      entry.ready = false;
      for (const timer of entry.timers) clearTimeout(timer);
      this.events.changed(live.namespace, live.name);
    });
    this.startProbes(pod, live, container, entry);
    return true;
  }

  private probeTarget(live: LivePod, entry: LiveContainer): ProbeTarget {
    return {
      podIp: live.podIp,
      socketFor: (port) => live.ports.get(port),
      sandboxPid: live.shim.pid!,
      containerPid: entry.child.pid,
      uid: entry.uid,
    };
  }

  private startProbes(pod: KubeObject, live: LivePod, container: Json, entry: LiveContainer): void {
    const fieldPath = `spec.containers{${entry.name}}`;
    const { initiallyReady } = startProbeWorkers(container, this.probeCapMs, entry.timers, {
      target: () => this.probeTarget(live, entry),
      active: () => entry.exit === undefined && !entry.stopping && !this.closed,
      readinessChanged: (ready) => {
        entry.ready = ready;
        this.events.changed(live.namespace, live.name);
      },
      failed: (kind, message) => this.events.warning(pod, 'Unhealthy', `${kind} probe failed: ${message}`, fieldPath),
      livenessExhausted: () => {
        this.events.normal(
          pod,
          'Killing',
          `Container ${entry.name} failed liveness probe, will be restarted`,
          fieldPath,
        );
        this.stopContainer(entry, this.graceDeadline(pod));
      },
    });
    entry.ready = initiallyReady;
  }

  private graceDeadline(pod: KubeObject): number {
    const seconds = specOf(pod).terminationGracePeriodSeconds;
    return Date.now() + (typeof seconds === 'number' ? seconds : 30) * 1000;
  }

  /** SIGTERM now, SIGKILL at `killAt` if it still runs. */
  private stopContainer(entry: LiveContainer, killAt: number): void {
    if (entry.stopping || entry.exit !== undefined) return;
    entry.stopping = true;
    for (const timer of entry.timers) clearTimeout(timer);
    entry.child.kill('SIGTERM');
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), Math.max(0, killAt - Date.now()));
    timer.unref();
    entry.child.once('exit', () => clearTimeout(timer));
  }

  /**
   * Brings the runtime in line with the processes: starts the containers it says run, records exits and
   * restarts after back-off, copies readiness, and stops everything when the pod is deleted. `holdDeletion`
   * while a process of a deleted pod still runs; `requeueAfterMs` when a back-off ends.
   */
  sync(
    pod: KubeObject,
    current: PodRuntime,
    now: number,
  ): { runtime: PodRuntime; holdDeletion: boolean; requeueAfterMs?: number } {
    const live = this.pods.get(pod.metadata.uid!);
    if (live === undefined) return { runtime: current, holdDeletion: false };
    const runtime = structuredClone(current);
    const apps = jsonList(specOf(pod).containers);
    if (isTerminating(pod) || runtime.stoppedAt !== undefined) {
      const killAt = timestampMs(pod.metadata.deletionTimestamp) ?? now;
      for (const entry of live.containers.values()) this.stopContainer(entry, killAt);
      const running = [...live.containers.values()].some((entry) => entry.exit === undefined);
      return { runtime, holdDeletion: running };
    }
    let requeueAfterMs: number | undefined;
    const policy = String(specOf(pod).restartPolicy ?? 'Always');
    const restartsAfter = (run: ContainerRun): boolean =>
      policy === 'Always' || (policy === 'OnFailure' && run.exitCode !== 0);
    apps.forEach((container, i) => {
      const run = runtime.appRuns[i];
      if (run === undefined) return;
      const entry = live.containers.get(run.containerId);
      if (isRunning(run)) {
        if (entry === undefined) {
          if (!this.startContainer(pod, live, container, run)) requeueAfterMs = 1000;
          run.ready = false;
          return;
        }
        if (entry.exit === undefined) {
          run.ready = entry.ready;
          return;
        }
        Object.assign(run, { finishedAt: entry.exit.at, exitCode: entry.exit.code, ready: false });
        live.containers.delete(run.containerId);
        if (restartsAfter(run))
          this.events.warning(
            pod,
            'BackOff',
            `Back-off restarting failed container ${String(container.name)} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            `spec.containers{${String(container.name)}}`,
          );
      }
      if (!restartsAfter(run) || run.finishedAt === undefined) return;
      const backoff = Math.min(1000 * 2 ** run.restartCount, MAX_BACKOFF_MS);
      const restartAt = run.finishedAt + backoff;
      if (now < restartAt) {
        run.restartAt = restartAt;
        requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, restartAt - now);
        return;
      }
      const restartCount = run.restartCount + 1;
      runtime.appRuns[i] = {
        startedAt: now,
        containerId: containerId(runtime.uid, String(container.name), restartCount),
        restartCount,
        ready: false,
        lastTermination: {
          exitCode: run.exitCode ?? 0,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
          containerId: run.containerId,
        },
      };
      this.events.normal(
        pod,
        'Started',
        `Started container ${String(container.name)}`,
        `spec.containers{${String(container.name)}}`,
      );
      if (!this.startContainer(pod, live, container, runtime.appRuns[i]!)) requeueAfterMs = 1000;
    });
    return { runtime, holdDeletion: false, ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }) };
  }

  /** Kills whatever of the pod still runs, its sandbox too, and removes its folder. */
  async teardown(uid: string): Promise<void> {
    const live = this.pods.get(uid);
    if (live === undefined) return;
    this.pods.delete(uid);
    const exits: Promise<unknown>[] = [];
    for (const entry of live.containers.values()) {
      for (const timer of entry.timers) clearTimeout(timer);
      if (entry.exit !== undefined) continue;
      exits.push(new Promise((resolve) => entry.child.once('exit', resolve)));
      entry.child.kill('SIGKILL');
    }
    if (live.shim.exitCode === null) {
      exits.push(new Promise((resolve) => live.shim.once('exit', resolve)));
      live.shim.kill('SIGTERM');
    }
    await Promise.all(exits);
    rmSync(live.dir, { recursive: true, force: true });
    this.logger.info({ namespace: live.namespace, pod: live.name, uid }, 'pod sandbox removed');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pods.keys()].map((uid) => this.teardown(uid)));
    await this.hostServices?.close();
    rmSync(this.root, { recursive: true, force: true });
    try {
      if (readdirSync(STATE_ROOT).length === 0) rmdirSync(STATE_ROOT);
    } catch {
      // Another sandbox still keeps its pods there.
    }
  }
}
