/**
 * One reconcile of one pod key (namespace/name): observe → decide → act, level-triggered and idempotent.
 * The pod and its PodEIP come from the caches (with the binder's own recent writes laid over them); the
 * cloud is asked only what decideBinding needs, when it needs it; the actions are performed in order, at
 * most one cloud write per pass. The Requeue it returns tells the queue when to look again; a thrown
 * error asks it for backoff.
 */
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../api/constants.js';
import { evaluateEipPolicies } from '../../api/eip-policy.js';
import type { EipPolicyWatch } from '../../api/kube/eip-policy-watch.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP } from '../../api/podeip.js';
import { tagValueFor } from '../cloud/client-tokens.js';
import {
  isCloudError,
  type CloudError,
  type EipCloud,
  type EipState,
  type NetworkInterfaceMatch,
} from '../cloud/eip-cloud.js';
import type { EventRecorder } from '../kube/events.js';
import { PodEipClient } from '../kube/podeip-client.js';
import type { BinderMetrics, ReconcileResult } from './binder-metrics.js';
import { ActingStopped, BindingActions, type Pass } from './binding-actions.js';
import { DEFAULT_SLOW_RETRY_MS, ThrottleGate, apiOf, isCloudWrite, planForCloudFailure } from './cloud-failures.js';
import { Contenders, type ContenderSources } from './contenders.js';
import { decideBinding } from './decide.js';
import {
  PODEIP_POD_UID_ANNOTATION,
  RESYNC_BOUND_MS,
  type Action,
  type Decision,
  type Observation,
  type Observed,
  type PolicyVerdict,
} from './decision.js';
import type { Requeue } from './queue.js';
import { KeyMemory } from './key-memory.js';
import { RecentPodEipWrites } from './recent-writes.js';

/** The caches and the ReplicaSet reads (contenders.ts), plus what acting needs. */
export interface ReconcilerDeps extends ContenderSources {
  /** Written into the ownership tags of every EIP allocated, and used to find them again. */
  clusterId: string;
  cachedPodEip(key: string): PodEIP | undefined;
  /** The cluster's EIPPolicies and namespaces' labels; absent: no policy (as in a cluster without any). */
  eipPolicies?: Pick<EipPolicyWatch, 'list' | 'namespace'>;
  core: CoreV1Api;
  customObjects: CustomObjectsApi;
  cloud: EipCloud;
  events: Pick<EventRecorder, 'record'>;
  metrics: BinderMetrics;
  logger: Logger;
  /** Shared with the PodEIP watch, which drops entries as the cache catches up. Default: the reconciler's own. */
  recentPodEips?: RecentPodEipWrites;
  /** Controller kinds whose pods keep their names, where Never and TTL apply. Default: StatefulSet. */
  statefulKinds?: readonly string[];
  /** A look-again this far off or later is left to the periodic resync. Default RESYNC_BOUND_MS. */
  resyncMs?: number;
  /** How long a failure a person must fix (quota, permission, invalid request) waits. Default 2 minutes. */
  slowRetryMs?: number;
  now?: () => number;
  random?: () => number;
}

/** `signal` ends when this binder may no longer act (the leadership term is over). */
export type Reconciler = (key: string, signal?: AbortSignal) => Promise<Requeue>;

/** decideBinding asks for at most a handful of things (policy, ENI, tagged EIPs, the EIP, …); more is a bug. */
const MAX_OBSERVATIONS = 7;
const NEVER_ABORTED = new AbortController().signal;

/** When the queue is to run the key again, and how the pass counts in the reconciles metric. */
interface PassOutcome {
  requeue: Requeue;
  result: ReconcileResult;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const reconciler = new BindingReconciler(deps);
  return (key, signal) => reconciler.reconcile(key, signal ?? NEVER_ABORTED);
}

class BindingReconciler {
  private readonly actions: BindingActions;
  private readonly podEips: PodEipClient;
  private readonly recentPodEips: RecentPodEipWrites;
  private readonly memory = new KeyMemory();
  /** Keys the EIPPolicies let through whose PodEIP the cache may not show yet, by namespace (heldBesides). */
  private readonly admittedByPolicy = new Map<string, Set<string>>();
  private readonly gate = new ThrottleGate();
  private readonly contenders: Contenders;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly resyncMs: number;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.resyncMs = deps.resyncMs ?? RESYNC_BOUND_MS;
    this.contenders = new Contenders(deps);
    this.podEips = new PodEipClient(deps.customObjects);
    this.recentPodEips = deps.recentPodEips ?? new RecentPodEipWrites();
    this.actions = new BindingActions({
      clusterId: deps.clusterId,
      core: deps.core,
      podEips: this.podEips,
      cloud: deps.cloud,
      events: deps.events,
      metrics: deps.metrics,
      logger: deps.logger,
      recentPodEips: this.recentPodEips,
      memory: this.memory,
    });
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Requeue> {
    try {
      const { requeue, result } = await this.onePass(key, signal);
      this.deps.metrics.reconciled(result);
      return requeue;
    } catch (error) {
      // The term ended mid-pass: the next leader looks at this key from the start.
      if (error instanceof ActingStopped || signal.aborted) return undefined;
      this.deps.metrics.reconciled('error');
      throw error;
    }
  }

  private async onePass(key: string, signal: AbortSignal): Promise<PassOutcome> {
    const now = this.now();
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = this.memory.withPodWrites(key, this.deps.cachedPod(key), now);
    const podEip = await this.freshPodEip(key, namespace, name);
    if (pod === undefined && podEip === undefined) {
      this.forget(key);
      return { requeue: undefined, result: 'success' };
    }
    if (pod !== undefined) this.memory.forgetNetworkInterfaceUnlessOf(key, pod.uid);

    const pass: Pass = { key, namespace, name, pod, podEip, signal, now };
    let observed: Observed = {
      namespace,
      name,
      pod,
      podEip,
      now,
      clusterId: this.deps.clusterId,
      ...(this.deps.statefulKinds === undefined ? {} : { statefulKinds: this.deps.statefulKinds }),
    };
    let decision: Decision;
    let looking: Observation | undefined;
    try {
      decision = decideBinding(observed);
      for (let looks = 0; decision.kind === 'observe'; looks++) {
        if (looks >= MAX_OBSERVATIONS)
          throw new Error(`decideBinding still asks for ${decision.what} after ${looks} observations of ${key}`);
        looking = decision.what;
        const api = apiOf(looking);
        const closedFor = api === undefined ? 0 : this.gate.remainingMs(api, now);
        if (closedFor > 0) return this.waitForGate(closedFor);
        observed = { ...observed, ...(await this.observe(pass, observed, looking)) };
        decision = decideBinding(observed);
      }
    } catch (error) {
      if (isCloudError(error)) return this.cloudFailure(pass, error, undefined, looking);
      throw error;
    }
    if (
      pod?.podIP !== undefined &&
      pod.eipCondition?.status !== 'True' &&
      (podEip !== undefined || decision.actions.some((a) => a.type === 'create-podeip'))
    ) {
      this.deps.metrics.waitingSince(key, pod.uid, now);
    }
    return this.act(pass, decision);
  }

  private async act(start: Pass, decision: Extract<Decision, { kind: 'act' }>): Promise<PassOutcome> {
    let cloudWrites = 0;
    let pass = start;
    let afterUnchangedCondition = false;
    for (const action of decision.actions) {
      if (isCloudWrite(action)) {
        // decideBinding asks for one per decision; should it ever ask for two, the second waits for a fresh look.
        if (cloudWrites++ > 0) return { requeue: { requeueAfterMs: 0 }, result: 'requeue' };
        const closedFor = this.gate.remainingMs(apiOf(action.type)!, pass.now);
        if (closedFor > 0) return this.waitForGate(closedFor);
      }
      let result;
      try {
        result = await this.actions.perform(pass, action, afterUnchangedCondition);
      } catch (error) {
        if (isCloudError(error)) return this.cloudFailure(pass, error, action.type, undefined);
        throw error;
      }
      if ('stop' in result) return { requeue: result.stop, result: result.stop === undefined ? 'success' : 'requeue' };
      pass = result.next;
      afterUnchangedCondition = action.type === 'set-condition' && result.conditionUnchanged === true;
    }
    if (pass.pod === undefined && pass.podEip === undefined) this.forget(pass.key);
    return this.lookAgain(decision.requeueAfterMs);
  }

  private lookAgain(requeueAfterMs: number | undefined): PassOutcome {
    if (requeueAfterMs === undefined || requeueAfterMs >= this.resyncMs)
      return { requeue: undefined, result: 'success' };
    return { requeue: { requeueAfterMs }, result: requeueAfterMs >= RESYNC_BOUND_MS ? 'success' : 'requeue' };
  }

  /**
   * Back when the cloud said it may be called again, with a little jitter so the keys it held do not return together.
   */
  private waitForGate(closedForMs: number): PassOutcome {
    return { requeue: { requeueAfterMs: Math.ceil(closedForMs * (1 + 0.2 * this.random())) }, result: 'requeue' };
  }

  private async cloudFailure(
    pass: Pass,
    error: CloudError,
    during: Action['type'] | undefined,
    looking: Observation | undefined,
  ): Promise<PassOutcome> {
    const plan = planForCloudFailure(error, during);
    const fields = {
      namespace: pass.namespace,
      pod: pass.name,
      uid: pass.pod?.uid,
      allocationId: pass.podEip?.spec.allocationID || undefined,
      during: during ?? `observe ${looking ?? ''}`,
      api: error.api,
      code: error.code,
      kind: error.kind,
      requestId: error.requestId,
    };
    if (during === 'associate-eip') this.memory.forgetNetworkInterface(pass.key);
    if (plan.kind === 'quiet') {
      this.deps.logger.info(fields, 'cloud is busy with the EIP; looking again shortly');
      return { requeue: { requeueAfterMs: plan.requeueAfterMs }, result: 'requeue' };
    }
    if (error.kind === 'throttled' && error.retryAfterMs !== undefined && error.retryAfterMs > 0)
      this.gate.close(error.api, error.retryAfterMs, pass.now);
    this.deps.logger.warn({ ...fields, reason: plan.reason, error: error.message }, 'cloud call failed');
    await this.actions.reportFailure(pass, plan.reason, error.message);
    if (plan.retry === 'slow')
      return { requeue: { requeueAfterMs: this.deps.slowRetryMs ?? DEFAULT_SLOW_RETRY_MS }, result: 'error' };
    throw error;
  }

  /** The cached PodEIP, unless a write of ours is newer; when the two cannot be ordered, the API server's. */
  private async freshPodEip(key: string, namespace: string, name: string): Promise<PodEIP | undefined> {
    const resolved = this.recentPodEips.resolve(key, this.deps.cachedPodEip(key));
    if (resolved !== 'unknown') return resolved;
    const read = await this.podEips.get({ namespace, name });
    this.recentPodEips.settle(key, read);
    return read;
  }

  /** What the look at `what` found, to be added to what was observed before. */
  private async observe(pass: Pass, observed: Observed, what: Observation): Promise<Partial<Observed>> {
    switch (what) {
      case 'network-interface':
        return { networkInterface: await this.networkInterfaceOf(pass) };
      case 'eip': {
        const allocationId = pass.podEip?.spec.allocationID ?? '';
        return { eip: this.memory.takeJustAllocated(pass.key, allocationId) ?? (await this.eipOf(allocationId)) };
      }
      case 'tagged-eips': {
        const owner = pass.podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? pass.pod?.uid ?? '';
        const provedNone = owner !== '' && this.memory.provesNoAllocation(pass.key, owner);
        return { taggedEips: provedNone ? [] : await this.taggedEipsOf(pass) };
      }
      case 'ip-holder':
        return this.contenders.ipHolder(pass, observed.eip?.privateIpAddress ?? '');
      case 'successor':
        return { successor: await this.contenders.successor(pass) };
      case 'claims': {
        const allocationId = observed.eip?.allocationId ?? pass.podEip?.spec.allocationID ?? '';
        return { claims: this.contenders.claimsOn(pass, allocationId) };
      }
      case 'policy':
        return { policy: await this.policyVerdict(pass) };
    }
  }

  /**
   * The EIPPolicies' verdict on the pod's request. A static EIP a policy allows only by tag or pool is
   * described, and the request decided again with the cloud's answer; the count is heldBesides'.
   */
  private async policyVerdict(pass: Pass): Promise<PolicyVerdict> {
    const policies = this.deps.eipPolicies?.list() ?? [];
    const pod = pass.pod;
    if (policies.length === 0 || pod === undefined) return { allowed: true };
    const parsed = parseEipAnnotations(pod.eipAnnotations);
    if (parsed.kind !== 'request') return { allowed: true };
    const { request } = parsed;
    const namespace = this.deps.eipPolicies!.namespace(pass.namespace);
    let verdict = evaluateEipPolicies(policies, namespace, request, { held: this.heldBesides(pass) });
    if (verdict.allowed === 'undecided' && request.mode === 'static') {
      const eip = await this.eipOf(request.allocationId);
      const facts = eip === null ? {} : { tags: eip.tags, publicIpAddressPoolId: eip.publicIpAddressPoolId };
      // Counted again after the wait, so the count and the admission below happen together.
      verdict = evaluateEipPolicies(policies, namespace, request, { held: this.heldBesides(pass), eip: facts });
    }
    if (verdict.allowed === false) return verdict;
    if (verdict.allowed === 'undecided')
      return { allowed: false, message: `the EIPPolicy ${verdict.policy} could not be checked against the EIP` };
    let admitted = this.admittedByPolicy.get(pass.namespace);
    if (admitted === undefined) this.admittedByPolicy.set(pass.namespace, (admitted = new Set()));
    admitted.add(pass.key);
    return { allowed: true };
  }

  /**
   * EIPs the pod's namespace holds or is about to: its PodEIPs, and the pods this binder let through the
   * policies whose record is not in the cache yet (so two workers cannot both take the last one).
   */
  private heldBesides(pass: Pass): number {
    let held = 0;
    const recorded = new Set<string>();
    for (const record of this.deps.cachedPodEips()) {
      if (record.metadata.namespace !== pass.namespace) continue;
      recorded.add(`${pass.namespace}/${record.metadata.name ?? ''}`);
      if (record.metadata.name !== pass.name) held += 1;
    }
    const admitted = this.admittedByPolicy.get(pass.namespace);
    for (const key of admitted ?? []) {
      if (recorded.has(key) || this.deps.cachedPod(key) === undefined) admitted!.delete(key);
      else if (key !== pass.key) held += 1;
    }
    return held;
  }

  private async networkInterfaceOf(pass: Pass): Promise<NetworkInterfaceMatch | null> {
    const pod = pass.pod;
    const ip = pod?.podIP;
    if (pod === undefined || ip === undefined) return null;
    const known = this.memory.networkInterface(pass.key, pod.uid, ip);
    if (known !== undefined) return known;
    const match = await this.deps.cloud.findNetworkInterface(ip);
    // Only a match is kept: "no ENI yet" can change (Terway may still be attaching one).
    if (match !== undefined) this.memory.rememberNetworkInterface(pass.key, pod.uid, ip, match);
    return match ?? null;
  }

  private async eipOf(allocationId: string): Promise<EipState | null> {
    if (allocationId === '') return null;
    const found = await this.deps.cloud.describeEips({ allocationIds: [allocationId] });
    return found.find((eip) => eip.allocationId === allocationId) ?? null;
  }

  /**
   * EIPs podeip allocated for the record's pod in this cluster, oldest id first; one being released is not a candidate.
   */
  private async taggedEipsOf(pass: Pass): Promise<EipState[]> {
    const owner = pass.podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION] ?? pass.pod?.uid ?? '';
    if (owner === '') return [];
    const tags = {
      [PODEIP_OWNERSHIP_TAG_KEYS.podUid]: tagValueFor(owner),
      [PODEIP_OWNERSHIP_TAG_KEYS.clusterId]: this.deps.clusterId,
    };
    const found = await this.deps.cloud.describeEips({ tags });
    return found
      .filter((eip) => eip.status !== 'Releasing')
      .sort((a, b) => (a.allocationId < b.allocationId ? -1 : a.allocationId > b.allocationId ? 1 : 0));
  }

  private forget(key: string): void {
    this.memory.forget(key);
    this.deps.metrics.forget(key);
  }
}
