/**
 * The four PATCH body types, applied to the current object as kube-apiserver's patch handler does:
 * RFC 6902 JSON patch (malformed → 400, failing operation → 422), RFC 7386 merge patch, strategic merge
 * patch (built-in kinds only; 415 for custom resources), and server-side apply, which this stand-in
 * treats as a merge without field ownership.
 */
import fjp from 'fast-json-patch';
import YAML from 'yaml';
import { isRecord } from '../../api/is-record.js';
import { badRequest, unsupportedMediaType } from './errors.js';
import { storageKey, isBuiltIn } from './resource-types.js';
import { applyStrategicMergePatch } from './strategic-merge.js';
import { StatusError, type KubeObject, type ResourceType } from './types.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type PatchType = keyof typeof PATCH_TYPES;

/** The patch types a resource accepts, in the order the real 415 lists them. */
export function acceptedPatchTypes(type: ResourceType): string[] {
  const types: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge];
  if (isBuiltIn(type)) types.push(PATCH_TYPES.strategic);
  types.push(PATCH_TYPES.apply);
  return types;
}

export function patchTypeOf(contentType: string | undefined, type: ResourceType): PatchType {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const found = (Object.entries(PATCH_TYPES) as Array<[PatchType, string]>).find(([, value]) => value === media);
  if (found === undefined || (found[0] === 'strategic' && !isBuiltIn(type)))
    throw unsupportedMediaType(acceptedPatchTypes(type).join(', '));
  return found[0];
}

export function parsePatchBody(raw: string, patchType: PatchType): unknown {
  try {
    if (patchType === 'apply') return YAML.parse(raw);
    return JSON.parse(raw);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
}

const MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/** The 422 the patch handler answers when a JSON patch does not apply (errors.NewGenericServerResponse). */
function patchDoesNotApply(message: string): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server rejected our request due to an error in our request',
    reason: 'Invalid',
    details: { causes: [{ reason: 'UnexpectedServerResponse', message }] },
    code: 422,
  });
}

/** evanphx/json-patch's wording for each failure, which clients see in the Status cause. */
function describeJsonPatchFailure(error: { name: string; operation?: { op?: string; path?: string } }): string {
  const op = error.operation?.op ?? '';
  const path = error.operation?.path ?? '';
  if (error.name === 'TEST_OPERATION_FAILED') return `testing value ${path} failed: test failed`;
  if (op === 'replace') return `replace operation does not apply: doc is missing key: ${path}: missing value`;
  return `${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`;
}

function applyJsonPatch(current: KubeObject, patch: unknown): KubeObject {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  if (patch.length > 10000)
    throw new StatusError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `The allowed maximum operations in a JSON patch is 10000, got ${patch.length}`,
      reason: 'RequestEntityTooLarge',
      code: 413,
    });
  try {
    return fjp.applyPatch(structuredClone(current), structuredClone(patch) as fjp.Operation[], true, true).newDocument;
  } catch (error) {
    const named = error as { name: string; message: string; operation?: { op?: string; path?: string } };
    if (MALFORMED.has(named.name)) throw badRequest(`json: ${named.message}`);
    throw patchDoesNotApply(describeJsonPatchFailure(named));
  }
}

/** RFC 7386: objects merge recursively, null deletes, anything else (lists included) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

export function applyPatch(type: ResourceType, current: KubeObject, patchType: PatchType, patch: unknown): KubeObject {
  switch (patchType) {
    case 'json':
      return applyJsonPatch(current, patch);
    case 'merge':
      if (!isRecord(patch))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      return applyMergePatch(current, patch) as KubeObject;
    case 'strategic':
      return applyStrategicMergePatch(current, patch, storageKey(type)) as KubeObject;
    case 'apply':
      if (!isRecord(patch)) throw badRequest('error decoding YAML: the apply configuration must be an object');
      return (
        isBuiltIn(type) ? applyStrategicMergePatch(current, patch, storageKey(type)) : applyMergePatch(current, patch)
      ) as KubeObject;
  }
}
