/**
 * `POST /mutate-v1-pod`: one AdmissionReview in, one out. The work per call is parse, plan, answer; the
 * planner short-circuits pods that ask for no EIP, and the route adds nothing for them but a debug line.
 * The admissions read in one turn of the event loop are answered together, back to back (inTurnBatches).
 */
import { echoed } from '../../api/echo.js';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Logger } from 'pino';
import type { MutationPolicy } from '../config/types.js';
import {
  admissionReviewResponseSchema,
  allowResponse,
  denyResponse,
  parseAdmissionReview,
  patchResponse,
  type AdmissionRequest,
  type AdmissionReviewResponse,
} from '../admission/review.js';
import type { AdmissionResult, WebhookMetrics } from '../metrics.js';
import type { PodJson } from '../mutation/pod.js';
import { planPodMutation } from '../mutation/plan.js';
import { inTurnBatches } from './in-turn-batches.js';
import { answerForError, malformedReviewAnswer } from './errors.js';
import { evaluateEipPolicies } from '../../api/eip-policy.js';
import type { EipPolicyWatch } from '../../api/kube/eip-policy-watch.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';

export const MUTATE_POD_PATH = '/mutate-v1-pod';

export interface PodAdmissionAnswer {
  review: AdmissionReviewResponse;
  result: AdmissionResult;
}

/**
 * What identifies the pod in logs: its name, else its generateName (CREATE from a controller), else the request's name.
 */
function podLabel(request: AdmissionRequest): string {
  const metadata = request.object?.metadata;
  if (typeof metadata === 'object' && metadata !== null) {
    const { name, generateName } = metadata as { name?: unknown; generateName?: unknown };
    if (typeof name === 'string' && name !== '') return name;
    if (typeof generateName === 'string' && generateName !== '') return generateName;
  }
  return request.name;
}

/**
 * Why the planner has no business with this call, if so: `misrouted` when only a webhook configuration
 * broader than the one deploy/ ships could have sent it (another kind, a subresource).
 */
function skipReason(request: AdmissionRequest): { reason: string; misrouted: boolean } | undefined {
  const { group, version, kind } = request.kind;
  if (group !== '' || version !== 'v1' || kind !== 'Pod') {
    return { reason: `kind ${echoed(`${group || 'core'}/${version}/${kind}`)} is not a pod`, misrouted: true };
  }
  if (request.subResource !== '') return { reason: `subresource ${echoed(request.subResource)}`, misrouted: true };
  if (request.object === null) return { reason: `operation ${request.operation} carries no pod`, misrouted: false };
  return undefined;
}

/**
 * Decides one admission request and logs the decision; never throws. dryRun is only logged: a dry run
 * must get the answer the real request would get.
 */
export function answerPodAdmission(
  request: AdmissionRequest,
  policy: MutationPolicy,
  log: Logger,
  eipPolicies?: EipPolicySource,
): PodAdmissionAnswer {
  // Built only for a line that is written: this runs for every admission and most lines are below the level.
  // Every value here is the sender's: cut to a bounded length, so that a hostile review cannot make the line huge.
  const fields = (decision: string, extra: Record<string, unknown>) => ({
    namespace: echoed(request.namespace),
    pod: echoed(podLabel(request)),
    uid: echoed(request.uid),
    operation: request.operation,
    dryRun: request.dryRun,
    decision,
    ...extra,
  });
  const skip = skipReason(request);
  if (skip !== undefined) {
    if (skip.misrouted)
      log.warn(
        fields('allowed', { skipped: skip.reason }),
        'admission passed through unchanged: the webhook configuration sends requests podeip does not handle',
      );
    else if (log.isLevelEnabled('debug'))
      log.debug(fields('allowed', { skipped: skip.reason }), 'admission passed through unchanged');
    return { review: allowResponse(request.uid), result: 'allowed' };
  }
  try {
    const plan = planPodMutation(
      { operation: request.operation, namespace: request.namespace, pod: request.object as PodJson },
      policy,
    );
    if (plan.decision === 'deny') {
      log.info(fields('denied', { message: plan.message, warnings: plan.warnings }), 'pod denied');
      return { review: denyResponse(request.uid, plan.message, 403, plan.warnings), result: 'denied' };
    }
    const refusal = eipPolicies === undefined ? undefined : policyRefusal(request, eipPolicies);
    if (refusal !== undefined) {
      log.info(fields('denied', { message: refusal.message, rule: 'eip-policy' }), 'pod denied');
      return { review: denyResponse(request.uid, refusal.message, refusal.code, plan.warnings), result: 'denied' };
    }
    if (plan.patch.length === 0) {
      if (log.isLevelEnabled('debug'))
        log.debug(fields('allowed', { warnings: plan.warnings }), 'pod allowed unchanged');
      return { review: allowResponse(request.uid, plan.warnings), result: 'allowed' };
    }
    if (log.isLevelEnabled('info'))
      log.info(fields('patched', { patchOps: plan.patch.length, warnings: plan.warnings }), 'pod patched');
    return { review: patchResponse(request.uid, plan.patch, plan.warnings), result: 'patched' };
  } catch (err) {
    log.error(fields('error', { err }), 'planning the pod mutation failed');
    // The uid ties the user's error to this log line; the exception text stays out of the user's answer.
    const message = `internal error in the podeip webhook (admission uid ${request.uid}); see the webhook's logs`;
    return { review: denyResponse(request.uid, message, 500), result: 'error' };
  }
}

/** What the route needs of api/kube/eip-policy-watch.ts. */
export type EipPolicySource = Pick<EipPolicyWatch, 'hasSynced' | 'list' | 'namespace' | 'podEipCount'>;

/**
 * Why the cluster's EIPPolicies refuse a pod created with an EIP request, if they do. A static EIP a
 * policy allows only by tag or pool passes: the binder decides it with the cloud's answer.
 */
function policyRefusal(
  request: AdmissionRequest,
  source: EipPolicySource,
): { message: string; code: number } | undefined {
  if (request.operation !== 'CREATE') return undefined;
  const pod = request.object as PodJson;
  const parsed = parseEipAnnotations(pod.metadata?.annotations as Record<string, string> | undefined);
  if (parsed.kind !== 'request') return undefined;
  if (!source.hasSynced())
    return {
      message: "podeip's webhook has not loaded the EIPPolicies yet; create the pod again in a moment",
      code: 503,
    };
  const name = typeof pod.metadata?.name === 'string' ? pod.metadata.name : undefined;
  const verdict = evaluateEipPolicies(source.list(), source.namespace(request.namespace), parsed.request, {
    held: source.podEipCount(request.namespace, name),
  });
  return verdict.allowed === false ? { message: verdict.message, code: 403 } : undefined;
}

export interface MutatePodRouteOptions {
  policy: MutationPolicy;
  /** The cluster's EIPPolicies, when the webhook checks them. */
  eipPolicies?: EipPolicySource;
  metrics: WebhookMetrics;
  /** The app's pino logger, which is also every request's: app.ts makes no child loggers. */
  logger: Logger;
}

export function registerMutatePodRoute(app: FastifyInstance, options: MutatePodRouteOptions): void {
  const { policy, metrics, logger, eipPolicies } = options;
  // The decision lines hold only what answerPodAdmission puts in them (names, uid, decision, warnings), never
  // a credential, so they skip the process-wide redaction: its wildcard paths cost about 16 us per line,
  // several times the rest of the line, and there is one line per patched or denied pod.
  const decisionLog = logger.child({}, { redact: [] });

  // Route-scoped so that bodies fastify refuses (413, 415, bad JSON) count as errors of this route.
  function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const answer = answerForError(error);
    metrics.admissions.inc({ result: 'error' });
    metrics.admissionSeconds.observe(reply.elapsedTime / 1000);
    if (answer.statusCode >= 500) request.log.error({ err: error }, 'admission request failed');
    else
      request.log.warn(
        { statusCode: answer.statusCode, error: answer.body.error, reason: error.message },
        'admission request refused',
      );
    void reply.code(answer.statusCode).send(answer.body);
  }

  const routeOptions: RouteShorthandOptions = {
    errorHandler: replyWithError,
    // Fastify compiles the AdmissionReview answer's serialiser from this; see the schema for why it pays.
    schema: { response: { 200: admissionReviewResponseSchema } },
  };
  /** One admission, from the parsed body to the answer sent. */
  function answer(request: FastifyRequest, reply: FastifyReply): void {
    const parsed = parseAdmissionReview(request.body);
    if (!parsed.ok) {
      metrics.admissions.inc({ result: 'error' });
      metrics.admissionSeconds.observe(reply.elapsedTime / 1000);
      request.log.warn(
        { uid: parsed.uid === undefined ? undefined : echoed(parsed.uid), reason: parsed.reason },
        'malformed admission review',
      );
      const refused = malformedReviewAnswer(parsed.reason);
      void reply.code(refused.statusCode).send(refused.body);
      return;
    }
    const { review, result } = answerPodAdmission(parsed.request, policy, decisionLog, eipPolicies);
    // Serialised here with the route's compiled serialiser (what Fastify would use on send), so that the
    // histogram below includes serialisation, as documented.
    const body = reply.serialize(review);
    metrics.admissions.inc({ result });
    // Observed here rather than in an onResponse hook, whose machinery costs more per request than the
    // observation itself: the figure is receipt to answer ready, waiting for its turn's batch, body parsing
    // and serialisation included.
    metrics.admissionSeconds.observe(reply.elapsedTime / 1000);
    void reply.type('application/json; charset=utf-8').send(body);
  }

  app.post(MUTATE_POD_PATH, routeOptions, inTurnBatches(answer));
}
