/**
 * A webhook's JSON Patch, decoded and applied as kube-apiserver does with evanphx/json-patch: a body
 * that is not a JSON array of objects is a failed call (failurePolicy applies), while a patch that decodes
 * but does not apply is a 500 whatever the failurePolicy. Failures are worded as json-patch words them.
 */
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { KubeObject } from '../types.js';

function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** The operations, or why the bytes are not a JSON Patch (DecodePatch's error). */
export function decodeJsonPatch(bytes: Buffer): Operation[] | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (!Array.isArray(parsed))
    return { error: `json: cannot unmarshal ${jsonTypeName(parsed)} into Go value of type jsonpatch.Patch` };
  const notObject = parsed.find((op) => jsonTypeName(op) !== 'object');
  if (notObject !== undefined)
    return { error: `json: cannot unmarshal ${jsonTypeName(notObject)} into Go value of type jsonpatch.Operation` };
  return parsed as Operation[];
}

export class PatchNotAppliedError extends Error {}

function describeFailure(error: unknown): string {
  const failure = error as {
    name?: string;
    message?: string;
    operation?: { op?: string; path?: string; from?: string };
  };
  const op = failure.operation?.op ?? '';
  const path = failure.operation?.path ?? '';
  switch (failure.name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
      if (op === 'replace') return `replace operation does not apply: doc is missing key: ${path}: missing value`;
      return `${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `${op} operation does not apply: doc is missing from path: ${failure.operation?.from ?? ''}: missing value`;
    case 'TEST_OPERATION_FAILED':
      return `testing value ${path} failed: test failed`;
    case 'OPERATION_OP_INVALID':
      return `Unexpected kind: ${op}`;
    default:
      return (failure.message ?? String(error)).split('\n')[0]!;
  }
}

/** The patched copy; throws PatchNotAppliedError. */
export function applyWebhookPatch(object: KubeObject, operations: Operation[]): KubeObject {
  try {
    return fjp.applyPatch(structuredClone(object), operations, true, true, true).newDocument;
  } catch (error) {
    throw new PatchNotAppliedError(describeFailure(error));
  }
}
