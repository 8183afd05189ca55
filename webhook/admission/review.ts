/**
 * AdmissionReview `admission.k8s.io/v1`: reading what kube-apiserver sends and building what it accepts.
 * The API server rejects a response whose uid differs from the request's, whose apiVersion/kind are not
 * exactly these, or that carries a patch without a patchType, so every builder takes the uid and sets both.
 */
import { echoed } from '../../api/echo.js';
import { isRecord } from '../../api/is-record.js';
import type { AdmissionOperation, JsonPatchOp } from '../mutation/types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';

const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The fields of `request` the webhook reads; the rest (userInfo, options, requestKind…) is ignored. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: GroupVersionResource;
  /** Set for calls on a subresource such as `status` or `ephemeralcontainers`; empty otherwise. */
  subResource: string;
  /** Empty on CREATE when the object uses generateName. */
  name: string;
  namespace: string;
  operation: AdmissionOperation;
  /** The object being admitted; null for DELETE. */
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  dryRun: boolean;
}

export type AdmissionReviewParse =
  | { ok: true; request: AdmissionRequest }
  /** `reason` names the offending field; `uid` is the request uid when it could be read, for logs. */
  | { ok: false; reason: string; uid?: string };

export interface AdmissionStatus {
  code: number;
  message: string;
  reason: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch array. */
  patch?: string;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: AdmissionResponse;
}

/** A value the sender wrote, as the answer repeats it: a string quoted and cut short, anything else by its type. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(echoed(value));
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function readTriple<K extends string>(value: unknown, path: string, keys: readonly K[]): Record<K, string> | string {
  if (!isRecord(value)) return `${path} must be an object with ${keys.join(', ')}`;
  const out = {} as Record<K, string>;
  for (const key of keys) {
    const field = value[key];
    // The core API group is the empty string, so only the type is checked.
    if (typeof field !== 'string') return `${path}.${key} must be a string`;
    out[key] = field;
  }
  return out;
}

/** Checks that `body` is an AdmissionReview v1 request and returns the typed request, or why it is not. */
export function parseAdmissionReview(body: unknown): AdmissionReviewParse {
  if (!isRecord(body)) return { ok: false, reason: 'body must be a JSON object' };
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return {
      ok: false,
      reason: `apiVersion must be "${ADMISSION_API_VERSION}", got ${shown(body.apiVersion)}`,
    };
  }
  if (body.kind !== ADMISSION_REVIEW_KIND) {
    return { ok: false, reason: `kind must be "${ADMISSION_REVIEW_KIND}", got ${shown(body.kind)}` };
  }
  const request = body.request;
  if (!isRecord(request)) return { ok: false, reason: 'request must be an object' };
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') return { ok: false, reason: 'request.uid must be a non-empty string' };
  const fail = (reason: string): AdmissionReviewParse => ({ ok: false, reason, uid });

  const operation = request.operation;
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation as AdmissionOperation)) {
    return fail(`request.operation must be one of ${OPERATIONS.join(', ')}, got ${shown(operation)}`);
  }
  const kind = readTriple(request.kind, 'request.kind', ['group', 'version', 'kind'] as const);
  if (typeof kind === 'string') return fail(kind);
  let resource: GroupVersionResource | undefined;
  if (request.resource !== undefined) {
    const read = readTriple(request.resource, 'request.resource', ['group', 'version', 'resource'] as const);
    if (typeof read === 'string') return fail(read);
    resource = read;
  }
  const strings = { name: '', namespace: '', subResource: '' };
  for (const key of ['name', 'namespace', 'subResource'] as const) {
    const value = request[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return fail(`request.${key} must be a string`);
    strings[key] = value;
  }

  const object = request.object ?? null;
  const oldObject = request.oldObject ?? null;
  if (object !== null && !isRecord(object)) return fail('request.object must be an object or null');
  if (oldObject !== null && !isRecord(oldObject)) return fail('request.oldObject must be an object or null');
  // CREATE and UPDATE always carry the new object; only DELETE and CONNECT may omit it.
  if (object === null && (operation === 'CREATE' || operation === 'UPDATE')) {
    return fail(`request.object is required for ${operation}`);
  }
  const dryRun = request.dryRun ?? false;
  if (typeof dryRun !== 'boolean') return fail('request.dryRun must be a boolean');

  return {
    ok: true,
    request: {
      uid,
      kind,
      ...(resource ? { resource } : {}),
      ...strings,
      operation: operation as AdmissionOperation,
      object,
      oldObject,
      dryRun,
    },
  };
}

/**
 * The answer's JSON schema, from which Fastify compiles the route's serialiser (fast-json-stringify). One
 * property is marked `unsafe`, written without escaping: `patch`, which base64Patch makes, so it holds only
 * base64's alphabet, which JSON never escapes. On Node 20, JSON.stringify checks such a string character by
 * character, about 7 us for a typical 4 kB patch. Under `make bench`'s load at the default settings, this
 * serialiser answered about 15% more annotated pods per second than JSON.stringify of the same answer
 * (13,231 against 11,497 req/s, medians of 7 rounds, 2026-12-04; docs/performance.md). Every other string,
 * uid and messages included, is escaped. Typed by the response's keys, so a field added to AdmissionResponse
 * must be added here, or it would be silently left out of the answer.
 */
const admissionResponseProperties: Record<keyof AdmissionResponse, object> = {
  uid: { type: 'string' },
  allowed: { type: 'boolean' },
  patchType: { type: 'string' },
  patch: { type: 'string', format: 'unsafe' },
  status: {
    type: 'object',
    properties: { code: { type: 'integer' }, message: { type: 'string' }, reason: { type: 'string' } },
    required: ['code', 'message', 'reason'],
  },
  warnings: { type: 'array', items: { type: 'string' } },
};

export const admissionReviewResponseSchema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: { type: 'object', properties: admissionResponseProperties, required: ['uid', 'allowed'] },
  },
  required: ['apiVersion', 'kind', 'response'],
} as const;

function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, response };
}

/** Kubernetes' StatusReason for the codes a webhook uses; the API server passes it on to the client. */
function statusReason(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 422:
      return 'Invalid';
    case 500:
      return 'InternalError';
    default:
      return 'Forbidden';
  }
}

/** Allow the object unchanged. Warnings reach the API client as `Warning:` headers. */
export function allowResponse(uid: string, warnings: readonly string[] = []): AdmissionReviewResponse {
  return review({ uid, allowed: true, ...(warnings.length > 0 ? { warnings: [...warnings] } : {}) });
}

/** Allow with a JSON Patch. An empty patch sends no patch at all, so the API server skips decoding one. */
export function patchResponse(
  uid: string,
  patch: readonly JsonPatchOp[],
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  if (patch.length === 0) return allowResponse(uid, warnings);
  return review({
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: base64Patch(patch),
    ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
  });
}

/**
 * Deny. The code is explicit because API servers differ in what they do with 0 (older ones turn it into
 * 400, newer ones into 403); the client sees `admission webhook "<name>" denied the request: <message>`.
 */
export function denyResponse(
  uid: string,
  message: string,
  code = 403,
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  return review({
    uid,
    allowed: false,
    status: { code, message, reason: statusReason(code) },
    ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
  });
}

/** Ids of the frozen values a patch is built from; the same object always gets the same id. */
const frozenIds = new WeakMap<object, number>();
let nextFrozenId = 1;
/** Encoded patches by the shape of their operations; bounded, since shapes are few (one per pod layout). */
const patchesByShape = new Map<string, string>();
const MAX_CACHED_PATCHES = 64;

/**
 * What makes two patches byte-identical: the same ops and paths over the same frozen values (a fresh
 * one-element array around a frozen value counts as that value). Undefined when a value is not frozen.
 */
function patchShape(patch: readonly JsonPatchOp[]): string | undefined {
  let shape = '';
  for (const op of patch) {
    let valuePart = '';
    if ('value' in op) {
      const value = op.value;
      const single = Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : value;
      if (typeof single !== 'object' || single === null || !Object.isFrozen(single)) return undefined;
      let id = frozenIds.get(single);
      if (id === undefined) frozenIds.set(single, (id = nextFrozenId++));
      valuePart = `${single === value ? '' : '['}${id}`;
    }
    shape += `${op.op} ${op.path} ${valuePart}\n`;
  }
  return shape;
}

/**
 * The patch as base64 JSON. Pods of one workload share a shape, so a burst encodes each shape once. This pays
 * at the default settings: without it the webhook answered about 20% fewer annotated pods per second under
 * `make bench`'s load (10,543 against 13,231 req/s, medians of 7 rounds, 2026-12-04; docs/performance.md).
 */
export function base64Patch(patch: readonly JsonPatchOp[]): string {
  const shape = patchShape(patch);
  const cached = shape === undefined ? undefined : patchesByShape.get(shape);
  if (cached !== undefined) return cached;
  const encoded = Buffer.from(JSON.stringify(patch), 'utf8').toString('base64');
  if (shape !== undefined) {
    if (patchesByShape.size >= MAX_CACHED_PATCHES) patchesByShape.clear();
    patchesByShape.set(shape, encoded);
  }
  return encoded;
}
