/**
 * The MutatingAdmissionWebhook plugin of kube-apiserver: every MutatingWebhookConfiguration in the store,
 * configurations by name and webhooks in order, each matching webhook called in turn with the object as
 * the ones before it left it; then, if a webhook changed the object, one more round for the earlier
 * webhooks that asked for it (reinvocationPolicy IfNeeded).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { internalError } from '../errors.js';
import { apiVersionOf } from '../resource-types.js';
import { deepEqual } from '../type-rules.js';
import {
  StatusError,
  type AdmissionAttributes,
  type AdmissionChain,
  type AdmissionResult,
  type ClusterStore,
  type KubeObject,
  type ResourceType,
} from '../types.js';
import {
  AdmissionRefusal,
  dryRunUnsupported,
  matchConditionsFailed,
  patchOnObjectlessOperation,
  webhookCallFailed,
  webhookDenied,
} from './admission-errors.js';
import {
  admissionReview,
  buildAdmissionRequest,
  celRequestOf,
  SUPPORTED_REVIEW_VERSIONS,
  verifyAdmissionResponse,
} from './admission-review.js';
import { evaluateMatchConditions } from './match-conditions.js';
import { postAdmissionReview, TlsAgentCache, webhookEndpoint, type ServiceResolver } from './webhook-client.js';
import { readMutatingWebhooks, type MutatingWebhook } from './webhook-configuration.js';
import {
  findInvocation,
  matchNamespaceSelector,
  matchObjectSelector,
  requestNamespaceOf,
  type Invocation,
} from './webhook-matching.js';
import { applyWebhookPatch, decodeJsonPatch, PatchNotAppliedError } from './webhook-patch.js';

export interface WebhookAdmissionOptions {
  store: ClusterStore;
  /** Where a `clientConfig.service` is reachable from this process; undefined if nowhere. */
  resolveService: ServiceResolver;
  logger?: Logger;
  /** For webhooks stored without timeoutSeconds (the store normally defaults it to 10). */
  defaultTimeoutSeconds?: number;
  /** Connections to share with another chain; by default the chain keeps its own. */
  agents?: TlsAgentCache;
}

export interface WebhookAdmission extends AdmissionChain {
  /** Closes the connections kept alive to webhooks. */
  close(): void;
}

const EXEMPT_KINDS = new Set([
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
]);

/** Webhooks are never called for admission configuration, so a broken webhook cannot lock its own fix out. */
export function isExemptFromWebhooks(type: Pick<ResourceType, 'group' | 'kind'>): boolean {
  return type.group === 'admissionregistration.k8s.io' && EXEMPT_KINDS.has(type.kind);
}

/** The refusal a dry run gets from a webhook that may have side effects, or undefined if it may be called. */
export function dryRunRefusal(
  webhook: Pick<MutatingWebhook, 'name' | 'sideEffects'>,
  dryRun: boolean,
): StatusError | undefined {
  if (!dryRun || webhook.sideEffects === 'None' || webhook.sideEffects === 'NoneOnDryRun') return undefined;
  return dryRunUnsupported(webhook.name);
}

/** One admission in progress: the object as mutated so far and kube-apiserver's reinvocation bookkeeping. */
interface AdmissionRun {
  attributes: AdmissionAttributes;
  requestNamespace: string;
  servedVersions: ResourceType[];
  object: KubeObject | undefined;
  warnings: string[];
  /** IfNeeded webhooks called since the object last changed. */
  invokedSinceChange: Set<string>;
  /** IfNeeded webhooks that a later change makes eligible for the second round. */
  toReinvoke: Set<string>;
}

type CallOutcome = { changed: boolean; failure?: undefined } | { changed: false; failure: string };

export function createWebhookAdmission(options: WebhookAdmissionOptions): WebhookAdmission {
  const { store, resolveService } = options;
  const defaultTimeoutSeconds = options.defaultTimeoutSeconds ?? 10;
  const agents = options.agents ?? new TlsAgentCache();
  const log = options.logger?.child({ component: 'webhook-admission' });

  function currentAttributes(run: AdmissionRun): AdmissionAttributes {
    return { ...run.attributes, ...(run.object === undefined ? {} : { object: run.object }) };
  }

  /** ShouldCallHook: the invocation if the webhook applies, undefined if not; throws when it cannot tell. */
  function invocationFor(webhook: MutatingWebhook, run: AdmissionRun): Invocation | undefined {
    const attributes = currentAttributes(run);
    const namespaceMatch = matchNamespaceSelector(webhook, attributes, store);
    if (!namespaceMatch.matches && namespaceMatch.error === undefined) return undefined;
    const objectMatch = matchObjectSelector(webhook, attributes);
    if (!objectMatch.matches && objectMatch.error === undefined) return undefined;
    const invocation = findInvocation(webhook, attributes, run.servedVersions);
    if (invocation === undefined) return undefined;
    if (namespaceMatch.error !== undefined) throw namespaceMatch.error;
    if (objectMatch.error !== undefined) throw objectMatch.error;
    if (webhook.matchConditions.length > 0) {
      const request = buildAdmissionRequest({
        uid: '',
        attributes,
        invocation,
        object: run.object,
        requestNamespace: run.requestNamespace,
      });
      const outcome = evaluateMatchConditions(
        webhook.matchConditions,
        { object: request.object, oldObject: request.oldObject, request: celRequestOf(request) },
        webhook.failurePolicy,
      );
      if (outcome.kind === 'error')
        throw matchConditionsFailed(run.attributes.type, run.attributes.name, outcome.message);
      if (outcome.kind === 'skip') return undefined;
    }
    return invocation;
  }

  /**
   * callAttrMutatingHook: one call; a failed call is returned (failurePolicy decides), anything else that fails throws.
   */
  async function callWebhook(
    webhook: MutatingWebhook,
    invocation: Invocation,
    run: AdmissionRun,
    round: number,
  ): Promise<CallOutcome> {
    const { attributes } = run;
    const refusal = dryRunRefusal(webhook, attributes.dryRun);
    if (refusal !== undefined) throw refusal;
    if (!webhook.admissionReviewVersions.some((v) => SUPPORTED_REVIEW_VERSIONS.includes(v))) {
      return {
        changed: false,
        failure: `could not create admission objects: webhook does not accept known AdmissionReview versions (${SUPPORTED_REVIEW_VERSIONS.join(', ')})`,
      };
    }
    const endpoint = webhookEndpoint(webhook.clientConfig, webhook.timeoutSeconds, resolveService);
    if (!endpoint.ok) return { changed: false, failure: endpoint.failure };

    const uid = randomUUID();
    const request = buildAdmissionRequest({
      uid,
      attributes,
      invocation,
      object: run.object,
      requestNamespace: run.requestNamespace,
    });
    const startedAt = performance.now();
    const answer = await postAdmissionReview(endpoint.value, admissionReview(request), webhook.timeoutSeconds, agents);
    const fields = {
      webhook: webhook.name,
      configuration: webhook.configurationName,
      uid,
      round,
      operation: attributes.operation,
      resource: `${invocation.resource.resource}${invocation.subresource === '' ? '' : `/${invocation.subresource}`}`,
      namespace: run.requestNamespace,
      name: attributes.name,
      ms: Math.round(performance.now() - startedAt),
    };
    if (!answer.ok) return { changed: false, failure: answer.failure };
    const verified = verifyAdmissionResponse(uid, answer.value);
    if ('failure' in verified) return { changed: false, failure: verified.failure };

    run.warnings.push(...verified.warnings);
    if (!verified.allowed) {
      log?.info(
        { ...fields, decision: 'denied', message: verified.result?.message },
        'mutating webhook denied the request',
      );
      throw webhookDenied(attributes.type, attributes.name, webhook.name, verified.result);
    }
    if (verified.patch.length === 0) {
      log?.debug({ ...fields, decision: 'allowed' }, 'mutating webhook allowed the request');
      return { changed: false };
    }
    const operations = decodeJsonPatch(verified.patch);
    if (!Array.isArray(operations))
      return { changed: false, failure: `received undecodable patch in webhook response: ${operations.error}` };
    if (operations.length === 0) return { changed: false };
    if (run.object === undefined || request.object === null) throw patchOnObjectlessOperation(webhook.name);
    if (verified.patchType !== 'JSONPatch')
      return { changed: false, failure: `unsupported patch type ${JSON.stringify(verified.patchType)}` };

    let patched: KubeObject;
    try {
      patched = applyWebhookPatch(request.object, operations);
    } catch (error) {
      if (error instanceof PatchNotAppliedError) throw internalError(error.message);
      throw error;
    }
    const changed = !deepEqual(request.object, patched);
    // Back to the request's version; the stand-in's conversions (strategy None) change only apiVersion.
    run.object = { ...patched, apiVersion: apiVersionOf(attributes.type), kind: attributes.type.kind };
    log?.debug(
      { ...fields, decision: 'patched', patchOps: operations.length, changed },
      'mutating webhook patched the object',
    );
    return { changed };
  }

  async function runRound(webhooks: MutatingWebhook[], run: AdmissionRun, round: number): Promise<void> {
    for (const webhook of webhooks) {
      const invocation = invocationFor(webhook, run);
      if (invocation === undefined) continue;
      // A webhook skipped in the first round is never called for the first time on reinvocation.
      if (round > 0 && !run.toReinvoke.has(webhook.id)) continue;
      const outcome = await callWebhook(webhook, invocation, run, round);
      if (outcome.changed) {
        for (const id of run.invokedSinceChange) run.toReinvoke.add(id);
        run.invokedSinceChange.clear();
      }
      if (webhook.reinvocationPolicy === 'IfNeeded') run.invokedSinceChange.add(webhook.id);
      if (outcome.failure === undefined) continue;
      const failureFields = {
        webhook: webhook.name,
        configuration: webhook.configurationName,
        round,
        reason: outcome.failure,
      };
      if (webhook.failurePolicy === 'Ignore') {
        log?.warn(failureFields, 'failed calling webhook, failing open');
        continue;
      }
      log?.warn(failureFields, 'failed calling webhook, failing closed');
      throw webhookCallFailed(webhook.name, outcome.failure);
    }
  }

  async function admit(attributes: AdmissionAttributes): Promise<AdmissionResult> {
    const unchanged: AdmissionResult = {
      ...(attributes.object === undefined ? {} : { object: attributes.object }),
      warnings: [],
    };
    if (isExemptFromWebhooks(attributes.type)) return unchanged;
    const webhooks = readMutatingWebhooks(store, defaultTimeoutSeconds);
    if (webhooks.length === 0) return unchanged;
    const run: AdmissionRun = {
      attributes,
      requestNamespace: requestNamespaceOf(attributes),
      servedVersions: store
        .resourceTypes()
        .filter((t) => t.group === attributes.type.group && t.plural === attributes.type.plural),
      object: attributes.object === undefined ? undefined : structuredClone(attributes.object),
      warnings: [],
      invokedSinceChange: new Set(),
      toReinvoke: new Set(),
    };
    try {
      await runRound(webhooks, run, 0);
      // kube-apiserver reinvokes once, and only the IfNeeded webhooks that a later change concerns.
      if (run.toReinvoke.size > 0) await runRound(webhooks, run, 1);
    } catch (error) {
      if (error instanceof StatusError && run.warnings.length > 0)
        throw new AdmissionRefusal(error.status, [...new Set(run.warnings)]);
      throw error;
    }
    return { ...(run.object === undefined ? {} : { object: run.object }), warnings: [...new Set(run.warnings)] };
  }

  return { admit, close: () => agents.close() };
}
