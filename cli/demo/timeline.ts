/**
 * The demo's timeline: what happened to each pod, from the API's point of view (as `kubectl get -w` would
 * see it). Pods and PodEIPs are watched in the sandbox's store; each change is reduced to the few facts a
 * person follows (injected, IP, EIP, condition, Ready) and only changes of those facts are printed.
 */
import {
  ALLOCATED_EIP_ADDRESS_ANNOTATION,
  EIP_CONDITION_TYPE,
  PODEIP_GROUP,
  PODEIP_PLURAL,
} from '../../api/constants.js';
import type { Sandbox } from '../../sandbox/index.js';
import type { KubeObject, WatchEvent } from '../../sandbox/kube/index.js';

export interface TimelineEntry {
  /** Seconds since the timeline started. */
  at: number;
  /** namespace/name */
  pod: string;
  what: string;
}

interface Condition {
  status: string;
  reason: string;
  message: string;
}

/** The facts of a pod the timeline follows. */
export interface PodFacts {
  injected: string[];
  node: string;
  ip: string;
  address: string;
  eipCondition: Condition | undefined;
  /** The wait-for-EIP init container, if injected. */
  waitContainer: string;
  initialized: boolean;
  containersReady: boolean;
  ready: Condition | undefined;
  deleting: boolean;
}

/** The facts of a PodEIP the timeline follows. */
export interface PodEipFacts {
  allocationId: string;
  type: string;
  status: string;
  address: string;
  networkInterfaceId: string;
  deleting: boolean;
}

function conditionOf(pod: KubeObject, type: string): Condition | undefined {
  const conditions = (
    (pod.status as { conditions?: Array<Record<string, unknown>> } | undefined)?.conditions ?? []
  ).filter((c) => c.type === type);
  const c = conditions[0];
  return c === undefined
    ? undefined
    : { status: String(c.status), reason: String(c.reason ?? ''), message: String(c.message ?? '') };
}

export function podFacts(pod: KubeObject): PodFacts {
  const spec = (pod.spec ?? {}) as {
    readinessGates?: Array<{ conditionType?: string }>;
    initContainers?: Array<{ name?: string }>;
    nodeName?: string;
  };
  const injected: string[] = [];
  if (spec.readinessGates?.some((g) => g.conditionType === EIP_CONDITION_TYPE))
    injected.push(`readiness gate ${EIP_CONDITION_TYPE}`);
  const wait = spec.initContainers?.find((c) => c.name?.startsWith('podeip-'));
  if (wait?.name !== undefined) injected.push(`init container ${wait.name}`);
  return {
    injected,
    node: spec.nodeName ?? '',
    ip: String((pod.status as { podIP?: string } | undefined)?.podIP ?? ''),
    address: pod.metadata.annotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION] ?? '',
    eipCondition: conditionOf(pod, EIP_CONDITION_TYPE),
    waitContainer: wait?.name ?? '',
    initialized: conditionOf(pod, 'Initialized')?.status === 'True',
    containersReady: conditionOf(pod, 'ContainersReady')?.status === 'True',
    ready: conditionOf(pod, 'Ready'),
    deleting: pod.metadata.deletionTimestamp !== undefined,
  };
}

export function podEipFacts(podEip: KubeObject): PodEipFacts {
  const spec = (podEip.spec ?? {}) as { allocationID?: string; allocationType?: { type?: string } };
  const status = (podEip.status ?? {}) as { status?: string; eipAddress?: string; networkInterfaceID?: string };
  return {
    allocationId: spec.allocationID ?? '',
    type: spec.allocationType?.type ?? '',
    status: status.status ?? '',
    address: status.eipAddress ?? '',
    networkInterfaceId: status.networkInterfaceID ?? '',
    deleting: podEip.metadata.deletionTimestamp !== undefined,
  };
}

const same = (a: Condition | undefined, b: Condition | undefined): boolean =>
  a?.status === b?.status && a?.reason === b?.reason;

/** What changed between two observations of a pod, in the order a reader expects. */
export function describePodChange(before: PodFacts | undefined, after: PodFacts): string[] {
  const lines: string[] = [];
  if (before === undefined) {
    lines.push(
      after.injected.length > 0
        ? `created; the webhook injected the ${after.injected.join(' and the ')}`
        : 'created; nothing injected',
    );
  }
  if (after.ip !== '' && after.ip !== before?.ip)
    lines.push(`got IP ${after.ip}${after.node === '' ? '' : ` on ${after.node}`}`);
  if (after.address !== '' && after.address !== before?.address)
    lines.push(`annotated ${ALLOCATED_EIP_ADDRESS_ANNOTATION}=${after.address}`);
  if (after.eipCondition !== undefined && !same(before?.eipCondition, after.eipCondition)) {
    lines.push(
      `condition ${EIP_CONDITION_TYPE}=${after.eipCondition.status}${after.eipCondition.reason === '' ? '' : ` (${after.eipCondition.reason})`}`,
    );
  }
  if (after.initialized && before?.initialized !== true) {
    lines.push(
      after.waitContainer === ''
        ? 'initialized'
        : `init container ${after.waitContainer} saw the address and finished; containers start`,
    );
  }
  const held = after.containersReady && after.ready?.status !== 'True';
  if (held && !(before?.containersReady === true && before.ready?.status !== 'True'))
    lines.push('containers ready, pod still not Ready: the readiness gate waits for the EIP');
  if (after.ready?.status === 'True' && before?.ready?.status !== 'True') lines.push('Ready');
  if (after.ready?.status !== 'True' && before?.ready?.status === 'True')
    lines.push(`not Ready${after.ready?.reason ? ` (${after.ready.reason})` : ''}`);
  if (after.deleting && before?.deleting !== true) lines.push('deleting');
  return lines;
}

export function describePodEipChange(before: PodEipFacts | undefined, after: PodEipFacts): string[] {
  const lines: string[] = [];
  if (before === undefined && after.allocationId === '') lines.push('PodEIP created; allocating an EIP');
  if (after.allocationId !== '' && after.allocationId !== before?.allocationId) {
    lines.push(
      after.type === 'Static'
        ? `PodEIP created for the static EIP ${after.allocationId}`
        : `EIP ${after.allocationId} allocated, recorded in the PodEIP`,
    );
  }
  if (after.status !== '' && after.status !== before?.status) {
    const address = after.address === '' ? after.allocationId : `${after.address} (${after.allocationId})`;
    const eni = after.networkInterfaceId === '' ? 'the pod’s ENI' : after.networkInterfaceId;
    const phrases: Record<string, string> = {
      Available: `EIP ${address} is Available: not bound yet; associating it`,
      Associating: `EIP ${address} associating with ${eni}`,
      InUse: `EIP ${address} associated with ${eni} (InUse)`,
    };
    lines.push(phrases[after.status] ?? `EIP ${address} ${after.status}`);
  }
  if (after.deleting && before?.deleting !== true) {
    lines.push(
      after.type === 'Static'
        ? `PodEIP deleting: unbinding ${after.allocationId} (a static EIP is kept)`
        : `PodEIP deleting: releasing ${after.allocationId}`,
    );
  }
  return lines;
}

/** Watches pods and PodEIPs (outside kube-system) and records each change as entries, in order. */
export class PodTimeline {
  private readonly pods = new Map<string, PodFacts>();
  private readonly podEips = new Map<string, PodEipFacts>();
  private readonly stops: Array<() => void> = [];
  private readonly recorded: TimelineEntry[] = [];
  private readonly started = Date.now();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly ignoredNamespaces: ReadonlySet<string> = new Set(['kube-system']),
  ) {}

  start(): void {
    const store = this.sandbox.kube.store;
    const pods = store.resourceType('', 'pods')!;
    this.stops.push(store.watch(pods, {}, (event) => this.onPodEvent(event)).stop);
    const podEips = store.resourceType(PODEIP_GROUP, PODEIP_PLURAL);
    if (podEips !== undefined) this.stops.push(store.watch(podEips, {}, (event) => this.onPodEipEvent(event)).stop);
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  entries(): readonly TimelineEntry[] {
    return this.recorded;
  }

  /** Adds an entry that did not come from a watch (the cloud's view during cleanup). */
  note(pod: string, what: string): void {
    this.record(pod, [what]);
  }

  private onPodEvent(event: WatchEvent): void {
    const key = this.keyOf(event);
    if (key === undefined) return;
    if (event.type === 'DELETED') {
      this.pods.delete(key);
      this.record(key, ['gone']);
      return;
    }
    const facts = podFacts(event.object as KubeObject);
    this.record(key, describePodChange(this.pods.get(key), facts));
    this.pods.set(key, facts);
  }

  private onPodEipEvent(event: WatchEvent): void {
    const key = this.keyOf(event);
    if (key === undefined) return;
    if (event.type === 'DELETED') {
      this.podEips.delete(key);
      this.record(key, ['PodEIP gone']);
      return;
    }
    const facts = podEipFacts(event.object as KubeObject);
    this.record(key, describePodEipChange(this.podEips.get(key), facts));
    this.podEips.set(key, facts);
  }

  private keyOf(event: WatchEvent): string | undefined {
    if (event.type === 'BOOKMARK' || event.type === 'ERROR') return undefined;
    const { namespace, name } = (event.object as KubeObject).metadata;
    if (namespace === undefined || this.ignoredNamespaces.has(namespace)) return undefined;
    return `${namespace}/${name ?? ''}`;
  }

  private record(pod: string, lines: string[]): void {
    const at = (Date.now() - this.started) / 1000;
    for (const what of lines) this.recorded.push({ at, pod, what });
  }
}
