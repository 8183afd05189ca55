/**
 * The `Status` failures kube-apiserver answers with, built as apimachinery's `errors.New*` build them:
 * NotFound/AlreadyExists/Conflict name the resource (`pods`, `deployments.apps`), Invalid names the kind
 * (`Pod`, `Deployment.apps`).
 */
import { StatusError, type KubeStatus, type ResourceType } from './types.js';

export interface FieldCause {
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, `FieldValueNotSupported`, … */
  reason: string;
  field: string;
  message: string;
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): StatusError {
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details !== undefined) status.details = details;
  return new StatusError(status);
}

/** `pods`, `deployments.apps`, `podeips.alibabacloud.com`: how the real server names a resource in messages. */
export function qualifiedResource(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

/** `Pod`, `Deployment.apps`: how Invalid and Forbidden-by-validation messages name a kind. */
export function qualifiedKind(type: Pick<ResourceType, 'group' | 'kind'>): string {
  return type.group === '' ? type.kind : `${type.kind}.${type.group}`;
}

function resourceDetails(
  type: Pick<ResourceType, 'group' | 'plural'>,
  name: string,
): NonNullable<KubeStatus['details']> {
  return type.group === '' ? { name, kind: type.plural } : { name, group: type.group, kind: type.plural };
}

export function notFound(type: Pick<ResourceType, 'group' | 'plural'>, name: string): StatusError {
  return failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, resourceDetails(type, name));
}

export function alreadyExists(type: Pick<ResourceType, 'group' | 'plural'>, name: string): StatusError {
  return failure(
    409,
    'AlreadyExists',
    `${qualifiedResource(type)} "${name}" already exists`,
    resourceDetails(type, name),
  );
}

export function conflict(type: Pick<ResourceType, 'group' | 'plural'>, name: string, why: string): StatusError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${why}`,
    resourceDetails(type, name),
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function staleConflict(type: Pick<ResourceType, 'group' | 'plural'>, name: string): StatusError {
  return conflict(type, name, STALE_OBJECT);
}

/** `field: Invalid value: "x": why`, as field.Error renders itself. */
export function renderCause(cause: FieldCause): string {
  return cause.field === '' ? cause.message : `${cause.field}: ${cause.message}`;
}

export function invalid(type: Pick<ResourceType, 'group' | 'kind'>, name: string, causes: FieldCause[]): StatusError {
  const rendered = causes.map(renderCause);
  const summary = rendered.length === 1 ? rendered[0]! : `[${rendered.join(', ')}]`;
  const details: NonNullable<KubeStatus['details']> = {
    name,
    kind: type.kind,
    causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
  };
  if (type.group !== '') details.group = type.group;
  return failure(422, 'Invalid', `${qualifiedKind(type)} "${name}" is invalid: ${summary}`, details);
}

/** A value already rendered the way Go's %#v prints it (`map[string]string{…}`, `0x0`), shown unquoted. */
export class GoValue {
  constructor(readonly text: string) {}
}

/** Value rendering of field.Invalid: strings quoted, everything else as Go's %v would print it (close enough). */
function renderValue(value: unknown): string {
  if (value instanceof GoValue) return value.text;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export const causes = {
  invalid: (field: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${renderValue(value)}: ${detail}`,
  }),
  required: (field: string, detail = ''): FieldCause => ({
    reason: 'FieldValueRequired',
    field,
    message: detail === '' ? 'Required value' : `Required value: ${detail}`,
  }),
  forbidden: (field: string, detail: string): FieldCause => ({
    reason: 'FieldValueForbidden',
    field,
    message: `Forbidden: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, allowed: string[]): FieldCause => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${renderValue(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
  }),
  notFound: (field: string, value: unknown): FieldCause => ({
    reason: 'FieldValueNotFound',
    field,
    message: `Not found: ${renderValue(value)}`,
  }),
  duplicate: (field: string, value: unknown): FieldCause => ({
    reason: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${renderValue(value)}`,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueTypeInvalid',
    field,
    message: `Invalid value: ${renderValue(value)}: ${detail}`,
  }),
};

export function badRequest(message: string): StatusError {
  return failure(400, 'BadRequest', message);
}

export function forbidden(type: Pick<ResourceType, 'group' | 'plural'>, name: string, why: string): StatusError {
  // A path outside the resource API has no resource to name (apimachinery's NewForbidden).
  if (type.plural === '') return failure(403, 'Forbidden', `forbidden: ${why}`, {});
  const subject = name === '' ? qualifiedResource(type) : `${qualifiedResource(type)} "${name}"`;
  return failure(403, 'Forbidden', `${subject} is forbidden: ${why}`, resourceDetails(type, name));
}

export function unauthorized(): StatusError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function unsupportedMediaType(contentType: string): StatusError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${contentType}`,
  );
}

export function methodNotAllowed(method: string, resource: string): StatusError {
  return failure(405, 'MethodNotAllowed', `${method} is not supported on resources of kind "${resource}"`);
}

/** The 404 for a path that names no resource at all (not an object that is missing). */
export function pathNotFound(): StatusError {
  return failure(404, 'NotFound', 'the server could not find the requested resource');
}

/** The watch cache's and etcd's answer for a resourceVersion that was compacted away. */
export function expired(message: string): StatusError {
  return failure(410, 'Expired', message);
}

export function gone(message: string): StatusError {
  return failure(410, 'Gone', message);
}

export function tooManyRequests(retryAfterSeconds: number): StatusError {
  return failure(429, 'TooManyRequests', 'Too many requests, please try again later.', {
    retryAfterSeconds,
  } as KubeStatus['details']);
}

export function internalError(message: string): StatusError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function statusSuccess(details?: KubeStatus['details']): KubeStatus {
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    message: '',
    reason: '',
    code: 200,
  };
  if (details !== undefined) status.details = details;
  return status;
}

export function isStatusError(error: unknown): error is StatusError {
  return error instanceof StatusError;
}
