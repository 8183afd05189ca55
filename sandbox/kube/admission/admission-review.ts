/**
 * AdmissionReview `admission.k8s.io/v1` as kube-apiserver writes the request (CreateV1AdmissionReview)
 * and checks the answer (decoding into the Go type, then VerifyAdmissionResponse). Pure: no I/O.
 */
import { isRecord } from '../../../api/is-record.js';
import { apiVersionOf } from '../resource-types.js';
import type { AdmissionAttributes, KubeObject } from '../types.js';
import type { GroupVersionKind, GroupVersionResource, Invocation } from './webhook-matching.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';
/** The only AdmissionReview version the stand-in speaks; kube-apiserver also knows v1beta1. */
export const SUPPORTED_REVIEW_VERSIONS = ['v1'];

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/**
 * Fields that Go marks omitempty are left out when empty, so the JSON matches a real server's byte for byte in shape.
 */
export interface AdmissionRequestV1 {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionAttributes['operation'];
  userInfo: AdmissionUserInfo;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  options: Record<string, unknown> | null;
}

export interface AdmissionReviewRequest {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  request: AdmissionRequestV1;
}

/** The object as the webhook's version would serialize it: apiVersion and kind always set. */
export function versionedObject(object: KubeObject | undefined, invocation: Invocation): KubeObject | null {
  if (object === undefined) return null;
  return { ...structuredClone(object), apiVersion: apiVersionOf(invocation.type), kind: invocation.kind.kind };
}

export interface AdmissionRequestInput {
  uid: string;
  attributes: AdmissionAttributes;
  invocation: Invocation;
  /** The object as the webhooks before this one left it. */
  object: KubeObject | undefined;
  requestNamespace: string;
}

export function buildAdmissionRequest(input: AdmissionRequestInput): AdmissionRequestV1 {
  const { attributes, invocation } = input;
  const requested = attributes.type;
  const user = attributes.userInfo;
  const userInfo: AdmissionUserInfo = {};
  if (user.username !== '') userInfo.username = user.username;
  if (user.uid !== undefined && user.uid !== '') userInfo.uid = user.uid;
  if (user.groups.length > 0) userInfo.groups = [...user.groups];
  if (user.extra !== undefined && Object.keys(user.extra).length > 0) userInfo.extra = structuredClone(user.extra);
  const subresource = attributes.subresource ?? '';
  const request: AdmissionRequestV1 = {
    uid: input.uid,
    kind: { ...invocation.kind },
    resource: { ...invocation.resource },
    requestKind: { group: requested.group, version: requested.version, kind: requested.kind },
    requestResource: { group: requested.group, version: requested.version, resource: requested.plural },
    operation: attributes.operation,
    userInfo,
    object: versionedObject(input.object, invocation),
    oldObject: versionedObject(attributes.oldObject, invocation),
    dryRun: attributes.dryRun,
    options: structuredClone(attributes.options) ?? null,
  };
  if (invocation.subresource !== '') request.subResource = invocation.subresource;
  if (subresource !== '') request.requestSubResource = subresource;
  if (attributes.name !== '') request.name = attributes.name;
  if (input.requestNamespace !== '') request.namespace = input.requestNamespace;
  return request;
}

export function admissionReview(request: AdmissionRequestV1): AdmissionReviewRequest {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, request };
}

/** The `request` variable of matchConditions: the AdmissionRequest without its uid and objects. */
export function celRequestOf(request: AdmissionRequestV1): Record<string, unknown> {
  const { uid: _uid, object: _object, oldObject: _oldObject, ...rest } = request;
  return structuredClone(rest);
}

/** The `status` a webhook may return with a denial (a metav1.Status). */
export interface WebhookResultStatus {
  code?: number;
  message?: string;
  reason?: string;
  status?: string;
  details?: Record<string, unknown>;
}

export interface VerifiedAdmissionResponse {
  allowed: boolean;
  /** Decoded from base64; empty when the webhook sent none. */
  patch: Buffer;
  patchType: string;
  result?: WebhookResultStatus;
  warnings: string[];
  auditAnnotations: Record<string, string>;
}

/** Why the answer counts as a failed call; worded as kube-apiserver's ErrCallingWebhook reasons. */
export interface InvalidAdmissionResponse {
  failure: string;
}

function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

/** encoding/json's refusal to put a JSON value into a Go field of another type. */
function unmarshalError(value: unknown, field: string, goType: string): InvalidAdmissionResponse {
  return {
    failure: `failed to call webhook: json: cannot unmarshal ${jsonTypeName(value)} into Go struct field AdmissionReview.response.${field} of type ${goType}`,
  };
}

/** Go decodes `[]byte` from standard base64 with padding; anything else is "illegal base64 data". */
function decodeStrictBase64(text: string): Buffer | { badByte: number } {
  const cleaned = text.replace(/[\r\n]/g, '');
  const bad = cleaned.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return { badByte: bad };
  const padding = cleaned.indexOf('=');
  if (padding >= 0 && !/^={1,2}$/.test(cleaned.slice(padding))) return { badByte: padding };
  if (cleaned.length % 4 !== 0) return { badByte: cleaned.length - (cleaned.length % 4) };
  return Buffer.from(cleaned, 'base64');
}

/** Reads the HTTP body of a 2xx answer; any problem is a failed call. */
export function verifyAdmissionResponse(
  uid: string,
  bodyText: string,
): VerifiedAdmissionResponse | InvalidAdmissionResponse {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return {
      failure: `failed to call webhook: couldn't get version/kind; json parse error: ${(error as Error).message}`,
    };
  }
  if (!isRecord(body))
    return {
      failure: `failed to call webhook: couldn't get version/kind; json parse error: cannot unmarshal ${jsonTypeName(body)} into Go value of type struct { APIVersion string; Kind string }`,
    };
  const response = body.response;
  if (response !== undefined && response !== null && !isRecord(response))
    return unmarshalError(response, 'response', 'v1.AdmissionResponse');

  const fields: Array<[string, string, (v: unknown) => boolean]> = [
    ['uid', 'types.UID', (v) => typeof v === 'string'],
    ['allowed', 'bool', (v) => typeof v === 'boolean'],
    ['patch', '[]uint8', (v) => typeof v === 'string'],
    ['patchType', 'v1.PatchType', (v) => typeof v === 'string'],
    ['status', 'v1.Status', isRecord],
    ['warnings', '[]string', (v) => Array.isArray(v) && v.every((w) => typeof w === 'string')],
    [
      'auditAnnotations',
      'map[string]string',
      (v) => isRecord(v) && Object.values(v).every((a) => typeof a === 'string'),
    ],
  ];
  if (isRecord(response)) {
    for (const [field, goType, valid] of fields) {
      const value = response[field];
      if (value !== undefined && value !== null && !valid(value)) return unmarshalError(value, field, goType);
    }
  }
  let patch: Buffer = Buffer.alloc(0);
  if (isRecord(response) && typeof response.patch === 'string') {
    const decoded = decodeStrictBase64(response.patch);
    if (!Buffer.isBuffer(decoded))
      return { failure: `failed to call webhook: illegal base64 data at input byte ${decoded.badByte}` };
    patch = decoded;
  }

  // From here on, VerifyAdmissionResponse's checks, in its order.
  const invalid = (why: string): InvalidAdmissionResponse => ({ failure: `received invalid webhook response: ${why}` });
  if (!isRecord(response)) return invalid('webhook response was absent');
  const answeredUid = typeof response.uid === 'string' ? response.uid : '';
  if (answeredUid !== uid)
    return invalid(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(answeredUid)}`);
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== ADMISSION_REVIEW_KIND) {
    const got = `${typeof body.apiVersion === 'string' ? body.apiVersion : ''}, Kind=${typeof body.kind === 'string' ? body.kind : ''}`;
    return invalid(`expected webhook response of ${ADMISSION_API_VERSION}, Kind=${ADMISSION_REVIEW_KIND}, got ${got}`);
  }
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  if (patch.length > 0 && patchType === undefined)
    return invalid('webhook returned response.patch but not response.patchType');
  if (patch.length === 0 && patchType !== undefined)
    return invalid('webhook returned response.patchType but not response.patch');
  if (patchType === '') return invalid('webhook returned invalid response.patchType of ""');

  return {
    allowed: response.allowed === true,
    patch,
    patchType: patchType ?? '',
    ...(isRecord(response.status) ? { result: response.status as WebhookResultStatus } : {}),
    warnings: Array.isArray(response.warnings) ? (response.warnings as string[]) : [],
    auditAnnotations: isRecord(response.auditAnnotations) ? (response.auditAnnotations as Record<string, string>) : {},
  };
}
