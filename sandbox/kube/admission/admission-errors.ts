/**
 * The Status answers of the webhook dispatcher, built as kube-apiserver builds them (webhook/errors
 * ToStatusErr, NewDryRunUnsupportedErr, ErrCallingWebhook wrapped in an InternalError).
 */
import { badRequest, forbidden, internalError, qualifiedResource } from '../errors.js';
import { StatusError, type KubeStatus, type ResourceType } from '../types.js';
import type { WebhookResultStatus } from './admission-review.js';

/**
 * A refusal together with the warnings webhooks gave before it: kube-apiserver sends those as Warning
 * headers on the error answer too.
 */
export class AdmissionRefusal extends StatusError {
  constructor(
    status: KubeStatus,
    readonly warnings: string[],
  ) {
    super(status);
    this.name = 'AdmissionRefusal';
  }
}

/** failurePolicy Fail: `Internal error occurred: failed calling webhook "<name>": <reason>`. */
export function webhookCallFailed(webhookName: string, reason: string): StatusError {
  return internalError(`failed calling webhook ${JSON.stringify(webhookName)}: ${reason}`);
}

/** A denial (allowed: false), as the client sees it. */
export function webhookDenied(
  type: Pick<ResourceType, 'group' | 'plural'>,
  objectName: string,
  webhookName: string,
  result: WebhookResultStatus | undefined,
): StatusError {
  const name = objectName === '' ? 'Unknown' : objectName;
  // Current servers turn a missing code into 403; older ones turned anything under 400 into 400.
  const code = typeof result?.code === 'number' && result.code !== 0 ? result.code : 403;
  const deniedBy = `admission webhook ${JSON.stringify(webhookName)} denied the request`;
  const explanation = result?.message || result?.reason;
  const message = explanation ? `${deniedBy}: ${explanation}` : `${deniedBy} without explanation`;
  const details: NonNullable<KubeStatus['details']> =
    result?.details !== undefined
      ? (result.details as NonNullable<KubeStatus['details']>)
      : code === 500
        ? { causes: [{ message }] }
        : { ...(type.group === '' ? {} : { group: type.group }), kind: type.plural, name };
  const prefix =
    code === 500 ? 'Internal error occurred' : `${qualifiedResource(type)} ${JSON.stringify(name)} is forbidden`;
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: result?.status === 'Success' ? 'Success' : 'Failure',
    message: `${prefix}: ${message}`,
    reason: result?.reason || (code === 500 ? 'InternalError' : 'Forbidden'),
    details,
    code,
  });
}

export function dryRunUnsupported(webhookName: string): StatusError {
  return badRequest(`admission webhook ${JSON.stringify(webhookName)} does not support dry run`);
}

/** matchConditions that fail to evaluate under failurePolicy Fail: a Forbidden, not a failed call. */
export function matchConditionsFailed(
  type: Pick<ResourceType, 'group' | 'plural'>,
  objectName: string,
  message: string,
): StatusError {
  return forbidden(type, objectName, message);
}

export function patchOnObjectlessOperation(webhookName: string): StatusError {
  return internalError(
    `admission webhook ${JSON.stringify(webhookName)} attempted to modify the object, which is not supported for this operation`,
  );
}
