/**
 * The side effects decideBinding asks for, one function each, against the Kubernetes and cloud edges.
 * Every write first checks that this binder may still act (the leadership term has not ended); Kubernetes
 * writes send nothing when the object already reads so; cloud writes carry ClientTokens derived from the
 * pod, so a retry or a restarted binder cannot act twice. Each side effect is one log line.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP, PodEIPStatus } from '../../api/podeip.js';
import type { EipCloud } from '../cloud/eip-cloud.js';
import { isAlreadyExists, isConflict } from '../../api/kube/api-clients.js';
import type { EventRecorder } from '../kube/events.js';
import { setAllocatedEipAddress } from '../kube/pod-annotations.js';
import { plannedEipCondition, setEipCondition } from '../kube/pod-condition.js';
import type { PodProjection } from '../kube/pod-projection.js';
import type { PodEipClient } from '../kube/podeip-client.js';
import type { BinderMetrics } from './binder-metrics.js';
import { CloudActions } from './cloud-actions.js';
import {
  PODEIP_ALLOCATION_ATTEMPT_ANNOTATION,
  PODEIP_MANAGED_BY_LABEL,
  PODEIP_POD_UID_ANNOTATION,
  REASONS,
  type Action,
  type ConditionUpdate,
} from './decision.js';
import { statusPatchFor } from './podeip-status.js';
import type { KeyMemory } from './key-memory.js';
import type { RecentPodEipWrites } from './recent-writes.js';
import { withAddress } from './recent-writes.js';
import type { Requeue } from './queue.js';

/** Labels on the PodEIPs podeip creates, so `kubectl get podeip -l` finds them. */
export const PODEIP_LABELS = { [PODEIP_MANAGED_BY_LABEL.key]: PODEIP_MANAGED_BY_LABEL.value } as const;

/** Event reasons that say podeip refused to touch an EIP that is not the record's: each is counted too. */
const REFUSALS: ReadonlySet<string> = new Set([
  REASONS.notPodeipsToUndo,
  REASONS.claimedElsewhere,
  REASONS.policyDenied,
]);

/** Why a binding was allowed: an auto EIP carries the record's ownership tags; a static one was recorded here first. */
function ruleOf(pass: Pass): string {
  return pass.podEip?.spec.allocationType.type === 'Static'
    ? 'StaticNotRecordedElsewhereFirst'
    : 'AutoAllocatedForThisRecord';
}

/** The leadership term ended (or the binder is stopping): the pass ends without another write. */
export class ActingStopped extends Error {
  constructor() {
    super('this binder may no longer act');
    this.name = 'ActingStopped';
  }
}

/**
 * One pass over one key, as a value: the pod and PodEIP as the pass last wrote or read them. An action
 * never changes it; it returns the one the next action starts from.
 */
export interface Pass {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: PodProjection | undefined;
  readonly podEip: PodEIP | undefined;
  readonly signal: AbortSignal;
  readonly now: number;
}

/**
 * What an action leaves for the next one: the pass as it now stands, or the end of the pass. A
 * set-condition also says whether the condition already read so (`conditionUnchanged`): the Event that
 * goes with it would then say again what was said before.
 */
export type ActionResult = { next: Pass; conditionUnchanged?: boolean } | { stop: Requeue };

export interface BindingActionDeps {
  clusterId: string;
  core: CoreV1Api;
  podEips: PodEipClient;
  cloud: EipCloud;
  events: Pick<EventRecorder, 'record'>;
  metrics: BinderMetrics;
  logger: Logger;
  recentPodEips: RecentPodEipWrites;
  memory: KeyMemory;
}

const AGAIN_AT_ONCE: ActionResult = { stop: { requeueAfterMs: 0 } };
const POD_GONE: ActionResult = { stop: undefined };
const unchanged = (pass: Pass): ActionResult => ({ next: pass });

export class BindingActions {
  private readonly cloud: CloudActions;

  constructor(private readonly deps: BindingActionDeps) {
    this.cloud = new CloudActions(deps, {
      checkActing: (pass) => this.checkActing(pass),
      log: (pass, fields, message) => this.log(pass, fields, message),
    });
  }

  /** `afterUnchangedCondition`: the action before this one was a set-condition that found it already so. */
  perform(pass: Pass, action: Action, afterUnchangedCondition: boolean): Promise<ActionResult> {
    switch (action.type) {
      case 'create-podeip':
        return this.createPodEip(pass, action);
      case 'adopt-podeip':
        return this.patchPodEip(
          pass,
          {
            metadata: {
              resourceVersion: pass.podEip?.metadata.resourceVersion,
              annotations: { [PODEIP_POD_UID_ANNOTATION]: action.podUid },
            },
          },
          'adopted PodEIP of the previous pod of this name',
        );
      case 'record-allocation':
        return this.recordAllocation(pass, action.allocationId, action.attempt);
      case 'record-release-strategy': {
        const allocationType = { ...action.allocationType, releaseAfter: action.allocationType.releaseAfter ?? null };
        const body = { metadata: { resourceVersion: pass.podEip?.metadata.resourceVersion }, spec: { allocationType } };
        return this.patchPodEip(pass, body, 'recorded the release strategy the pod now asks for', {
          releaseStrategy: allocationType.releaseStrategy,
        });
      }
      case 'write-podeip-status':
        return this.writeStatus(pass, action.status);
      case 'finish-podeip':
        return this.finishPodEip(pass);
      case 'set-condition':
        return this.setCondition(pass, action.condition);
      case 'annotate-pod':
        return this.annotatePod(pass, action.address);
      case 'event':
        return this.recordEvent(pass, action, afterUnchangedCondition);
      case 'allocate-eip': {
        // Recorded before anything else, so the next pass binds this EIP and no other; a crash right after
        // the call is recovered by the ownership tags (and the same ClientToken answers with this EIP again).
        const next = this.cloud.allocate(pass, action);
        return next.then((allocationId) => this.recordAllocation(pass, allocationId, undefined));
      }
      case 'associate-eip':
        this.audit(pass, action.allocationId, 'allowed', ruleOf(pass));
        return this.cloud.associate(pass, action).then(() => unchanged(pass));
      case 'unassociate-eip':
        return this.cloud.unassociate(pass, action).then(() => unchanged(pass));
      case 'add-to-bandwidth-package':
        return this.cloud.addToPackage(pass, action).then(() => unchanged(pass));
      case 'remove-from-bandwidth-package':
        return this.cloud.removeFromPackage(pass, action).then(() => unchanged(pass));
      case 'release-eip':
        return this.cloud.release(pass, action.allocationId).then(() => unchanged(pass));
    }
  }

  /**
   * The condition False with `reason`, and a Warning Event. Not over a bound pod's True (a working EIP is not
   * taken away for a cloud hiccup), nor over PodFinished: that reason marks the finish as handled, and
   * replacing it would have the next pass stamp podLastSeen again, restarting a TTL on every failure.
   */
  async reportFailure(start: Pass, reason: string, message: string): Promise<void> {
    if (start.pod === undefined) return;
    const condition = start.pod.eipCondition;
    let pass = start;
    if (condition?.status !== 'True' && condition?.reason !== REASONS.podFinished) {
      const result = await this.setCondition(pass, { status: 'False', reason, message });
      if (!('next' in result)) return;
      pass = result.next;
    }
    await this.recordEvent(pass, { type: 'event', eventType: 'Warning', reason, message }, false);
  }

  /**
   * One line per binding decision, allowed (as the binder asks the cloud to bind) or refused: whose pod, by
   * which ServiceAccount, which EIP, and the rule that decided. Operators grep for `audit`.
   */
  private audit(pass: Pass, allocationId: string, decision: 'allowed' | 'refused', rule: string): void {
    this.deps.logger.info(
      {
        audit: 'eip-binding',
        namespace: pass.namespace,
        pod: pass.name,
        serviceAccount: pass.pod?.serviceAccount ?? 'default',
        allocationId,
        decision,
        rule,
      },
      `EIP binding ${decision}`,
    );
  }

  checkActing(pass: Pass): void {
    if (pass.signal.aborted) throw new ActingStopped();
  }

  private log(pass: Pass, fields: Record<string, unknown>, message: string): void {
    this.deps.logger.info(
      {
        namespace: pass.namespace,
        pod: pass.name,
        uid: pass.pod?.uid ?? pass.podEip?.metadata.annotations?.[PODEIP_POD_UID_ANNOTATION],
        allocationId: pass.podEip?.spec.allocationID || undefined,
        ...fields,
      },
      message,
    );
  }

  private remember(pass: Pass, podEip: PodEIP): Pass {
    this.deps.recentPodEips.remember(pass.key, podEip);
    return { ...pass, podEip };
  }

  private async createPodEip(pass: Pass, action: Extract<Action, { type: 'create-podeip' }>): Promise<ActionResult> {
    this.checkActing(pass);
    const ref = { namespace: pass.namespace, name: pass.name };
    try {
      const created = await this.deps.podEips.create(ref, action.spec, {
        labels: { ...PODEIP_LABELS },
        annotations: { [PODEIP_POD_UID_ANNOTATION]: action.podUid },
      });
      const next = this.remember(pass, created);
      if (action.spec.allocationType.type === 'Auto' && action.spec.allocationID === '')
        this.deps.memory.rememberCreatedUnallocated(pass.key, action.podUid);
      this.log(
        next,
        {
          allocationType: action.spec.allocationType.type,
          releaseStrategy: action.spec.allocationType.releaseStrategy,
        },
        'created PodEIP',
      );
      return { next };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      // The cache did not show it yet: decide again on what is really there.
      this.deps.recentPodEips.settle(pass.key, await this.deps.podEips.get(ref));
      return AGAIN_AT_ONCE;
    }
  }

  private recordAllocation(pass: Pass, allocationId: string, attempt: number | undefined): Promise<ActionResult> {
    const metadata =
      attempt === undefined
        ? {}
        : { metadata: { annotations: { [PODEIP_ALLOCATION_ATTEMPT_ANNOTATION]: String(attempt) } } };
    const what =
      allocationId === ''
        ? `forgot the vanished EIP ${pass.podEip?.spec.allocationID ?? ''}; allocation attempt ${attempt ?? 0}`
        : 'recorded allocation';
    return this.patchPodEip(pass, { ...metadata, spec: { allocationID: allocationId } }, what, {
      allocationId: allocationId || undefined,
    });
  }

  /** A merge patch of metadata and spec in one request; a resourceVersion in it makes a stale write fail with 409. */
  private async patchPodEip(
    pass: Pass,
    body: Record<string, unknown>,
    what: string,
    fields: Record<string, unknown> = {},
  ): Promise<ActionResult> {
    this.checkActing(pass);
    const ref = { namespace: pass.namespace, name: pass.name };
    let patched: PodEIP | undefined;
    try {
      patched = await this.deps.podEips.patchRecord(ref, body);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    if (patched === undefined) {
      // Gone (404) or changed meanwhile (409): what the server holds now decides the next pass.
      this.deps.recentPodEips.settle(pass.key, await this.deps.podEips.get(ref));
      return AGAIN_AT_ONCE;
    }
    const next = this.remember(pass, patched);
    this.log(next, fields, what);
    return { next };
  }

  private async writeStatus(pass: Pass, status: PodEIPStatus): Promise<ActionResult> {
    const patch = statusPatchFor(pass.podEip?.status, status);
    if (patch === undefined) return unchanged(pass);
    this.checkActing(pass);
    const updated = await this.deps.podEips.patchStatus(
      { namespace: pass.namespace, name: pass.name },
      patch as Parameters<PodEipClient['patchStatus']>[1],
    );
    if (updated === undefined) return AGAIN_AT_ONCE;
    const next = this.remember(pass, updated);
    this.log(
      next,
      {
        eipStatus: status.status,
        networkInterfaceId: status.networkInterfaceID,
        privateIp: status.privateIPAddress,
        eipAddress: status.eipAddress,
      },
      'wrote PodEIP status',
    );
    return { next };
  }

  /** Takes the finalizer off and deletes the record: the EIP has nothing left for podeip to undo. */
  private async finishPodEip(pass: Pass): Promise<ActionResult> {
    const podEip = pass.podEip;
    if (podEip === undefined) return unchanged(pass);
    this.checkActing(pass);
    const ref = { namespace: pass.namespace, name: pass.name };
    try {
      await this.deps.podEips.removeFinalizer(podEip);
      if (podEip.metadata.deletionTimestamp === undefined) {
        this.checkActing(pass);
        await this.deps.podEips.delete(ref, podEip.metadata.uid === undefined ? {} : { uid: podEip.metadata.uid });
      }
    } catch (error) {
      // Another writer changed the record (409): read it again and decide on what is there now.
      if (!isConflict(error)) throw error;
      this.deps.recentPodEips.settle(pass.key, await this.deps.podEips.get(ref));
      return AGAIN_AT_ONCE;
    }
    this.log(pass, { allocationId: podEip.spec.allocationID || undefined }, 'finished PodEIP');
    this.deps.recentPodEips.rememberDeleted(pass.key, podEip.metadata.uid);
    return { next: { ...pass, podEip: undefined } };
  }

  private async setCondition(pass: Pass, condition: ConditionUpdate): Promise<ActionResult> {
    const pod = pass.pod;
    if (pod === undefined) return unchanged(pass);
    const at = new Date(pass.now);
    const planned = plannedEipCondition(pod.eipCondition, condition, at);
    if (planned === undefined) return { next: pass, conditionUnchanged: true };
    this.checkActing(pass);
    const result = await setEipCondition(this.deps.core, pod, condition, { now: () => at });
    if (result.podGone) return POD_GONE;
    if (!result.wrote) return { next: pass, conditionUnchanged: true };
    this.deps.memory.rememberCondition(pass.key, pod.uid, planned, pass.now);
    const next = { ...pass, pod: { ...pod, eipCondition: planned } };
    this.log(next, { status: planned.status, reason: planned.reason }, 'set EIP condition');
    if (planned.status === 'True' && planned.reason === REASONS.bound)
      this.deps.metrics.bound(pass.key, pod.uid, pass.now);
    return { next };
  }

  private async annotatePod(pass: Pass, address: string | null): Promise<ActionResult> {
    const pod = pass.pod;
    if (pod === undefined || (pod.eipAnnotations[ALLOCATED_EIP_ADDRESS_ANNOTATION] ?? null) === address)
      return unchanged(pass);
    this.checkActing(pass);
    const result = await setAllocatedEipAddress(this.deps.core, pod, address ?? undefined);
    if (result.podGone) return POD_GONE;
    if (!result.wrote) return unchanged(pass);
    this.deps.memory.rememberAddress(pass.key, pod.uid, address, pass.now);
    const next = { ...pass, pod: { ...pod, eipAnnotations: withAddress(pod.eipAnnotations, address) } };
    this.log(
      next,
      { eipAddress: address },
      address === null ? 'removed allocated EIP address annotation' : 'set allocated EIP address annotation',
    );
    return { next };
  }

  /** `repeat`: the condition it goes with was already there, so this was said before. */
  private async recordEvent(
    pass: Pass,
    event: Extract<Action, { type: 'event' }>,
    repeat: boolean,
  ): Promise<ActionResult> {
    const pod = pass.pod;
    const record = pass.podEip;
    if (!repeat && REFUSALS.has(event.reason)) {
      this.deps.metrics.refused(event.reason);
      this.audit(pass, pass.podEip?.spec.allocationID ?? requestedStaticEip(pass.pod), 'refused', event.reason);
    }
    if (event.onPodEip === true && record !== undefined && !repeat) {
      this.checkActing(pass);
      const { namespace = pass.namespace, name = pass.name, uid = '' } = record.metadata;
      this.deps.events.record(
        { namespace, name, uid, kind: 'PodEIP', apiVersion: record.apiVersion },
        event.eventType,
        event.reason,
        event.message,
      );
      this.log(pass, { eventType: event.eventType, reason: event.reason }, 'recorded event on the PodEIP');
      return unchanged(pass);
    }
    if (pod === undefined || repeat) return unchanged(pass);
    this.checkActing(pass);
    this.deps.events.record(
      { namespace: pod.namespace, name: pod.name, uid: pod.uid, resourceVersion: pod.resourceVersion },
      event.eventType,
      event.reason,
      event.message,
    );
    const owner = pod.controller;
    if (event.onController === true && owner?.uid !== undefined && owner.apiVersion !== undefined) {
      const subject = { namespace: pod.namespace, name: owner.name, uid: owner.uid, kind: owner.kind };
      this.deps.events.record(
        { ...subject, apiVersion: owner.apiVersion },
        event.eventType,
        event.reason,
        event.message,
      );
    }
    this.log(pass, { eventType: event.eventType, reason: event.reason }, 'recorded event');
    return unchanged(pass);
  }
}

/** The static EIP a pod without a record asks for, for the audit line; '' for an auto request. */
function requestedStaticEip(pod: PodProjection | undefined): string {
  const parsed = parseEipAnnotations(pod?.eipAnnotations);
  return parsed.kind === 'request' && parsed.request.mode === 'static' ? parsed.request.allocationId : '';
}
