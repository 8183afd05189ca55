/**
 * Strategic merge patch (application/strategic-merge-patch+json) for the built-in kinds: lists merge by
 * their patchMergeKey where the Go types declare `patchStrategy:"merge"` and are replaced otherwise;
 * directives `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` are honoured as apimachinery's strategicpatch applies them.
 */
import { isRecord } from '../../api/is-record.js';
import { badRequest } from './errors.js';

type Json = Record<string, unknown>;

/** A list's strategy: merge by key, merge as a set of primitives, or (absent) replace. */
type ListStrategy = { mergeKey: string } | { primitiveSet: true };

const POD_SPEC_LISTS: Record<string, ListStrategy> = {
  containers: { mergeKey: 'name' },
  initContainers: { mergeKey: 'name' },
  ephemeralContainers: { mergeKey: 'name' },
  volumes: { mergeKey: 'name' },
  imagePullSecrets: { mergeKey: 'name' },
  hostAliases: { mergeKey: 'ip' },
  schedulingGates: { mergeKey: 'name' },
  resourceClaims: { mergeKey: 'name' },
  topologySpreadConstraints: { mergeKey: 'topologyKey' },
  'containers[].ports': { mergeKey: 'containerPort' },
  'containers[].env': { mergeKey: 'name' },
  'containers[].volumeMounts': { mergeKey: 'mountPath' },
  'containers[].volumeDevices': { mergeKey: 'devicePath' },
  'initContainers[].ports': { mergeKey: 'containerPort' },
  'initContainers[].env': { mergeKey: 'name' },
  'initContainers[].volumeMounts': { mergeKey: 'mountPath' },
  'initContainers[].volumeDevices': { mergeKey: 'devicePath' },
  'ephemeralContainers[].env': { mergeKey: 'name' },
  'ephemeralContainers[].volumeMounts': { mergeKey: 'mountPath' },
};

const METADATA_LISTS: Record<string, ListStrategy> = {
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'metadata.finalizers': { primitiveSet: true },
};

function prefixed(prefix: string, lists: Record<string, ListStrategy>): Record<string, ListStrategy> {
  return Object.fromEntries(Object.entries(lists).map(([path, strategy]) => [`${prefix}${path}`, strategy]));
}

const TEMPLATE_LISTS = {
  ...prefixed('spec.template.spec.', POD_SPEC_LISTS),
  ...prefixed('spec.template.', METADATA_LISTS),
};
const CONDITIONS: Record<string, ListStrategy> = { 'status.conditions': { mergeKey: 'type' } };

/** patchMergeKey tables by storage key (`group/plural`); paths use `[]` for "inside a list item". */
const LIST_STRATEGIES: Record<string, Record<string, ListStrategy>> = {
  '/pods': {
    ...prefixed('spec.', POD_SPEC_LISTS),
    ...CONDITIONS,
    'status.podIPs': { mergeKey: 'ip' },
    'status.hostIPs': { mergeKey: 'ip' },
  },
  '/nodes': { ...CONDITIONS, 'status.addresses': { mergeKey: 'type' }, 'spec.podCIDRs': { primitiveSet: true } },
  '/namespaces': CONDITIONS,
  '/services': { 'spec.ports': { mergeKey: 'port' }, ...CONDITIONS },
  '/serviceaccounts': { secrets: { mergeKey: 'name' }, imagePullSecrets: { mergeKey: 'name' } },
  'apps/deployments': { ...TEMPLATE_LISTS, ...CONDITIONS },
  'apps/replicasets': { ...TEMPLATE_LISTS, ...CONDITIONS },
  'apps/statefulsets': { ...TEMPLATE_LISTS, ...CONDITIONS },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': { webhooks: { mergeKey: 'name' } },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': { webhooks: { mergeKey: 'name' } },
};

const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

function strategyFor(table: Record<string, ListStrategy>, path: string): ListStrategy | undefined {
  return table[path] ?? METADATA_LISTS[path];
}

function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value))
    return value
      .filter((item) => !(isRecord(item) && item.$patch !== undefined && Object.keys(item).length === 1))
      .map(withoutDirectives);
  if (!isRecord(value)) return value;
  const result: Json = {};
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    if (child === null) continue;
    result[key] = withoutDirectives(child);
  }
  return result;
}

function mergeMap(original: Json, patch: Json, path: string, table: Record<string, ListStrategy>): Json | undefined {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return withoutDirectives(patch) as Json;
  if (patch.$patch !== undefined && patch.$patch !== 'merge')
    throw badRequest(`unknown patch type: ${String(patch.$patch)} in map: ${JSON.stringify(patch)}`);
  const result: Json = structuredClone(original);
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
    } else if (isRecord(value)) {
      const merged = mergeMap(isRecord(result[key]) ? (result[key] as Json) : {}, value, at(key), table);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(Array.isArray(result[key]) ? (result[key] as unknown[]) : [], value, at(key), table);
    } else {
      result[key] = value;
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST) && Array.isArray(value)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (Array.isArray(result[field]))
        result[field] = (result[field] as unknown[]).filter((item) => !value.includes(item));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(SET_ELEMENT_ORDER) && Array.isArray(value)) {
      const field = key.slice(SET_ELEMENT_ORDER.length);
      if (Array.isArray(result[field]))
        result[field] = orderBy(result[field] as unknown[], value, strategyFor(table, at(field)));
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

function sameKey(a: unknown, b: unknown, strategy: ListStrategy | undefined): boolean {
  if (strategy !== undefined && 'mergeKey' in strategy)
    return isRecord(a) && isRecord(b) && JSON.stringify(a[strategy.mergeKey]) === JSON.stringify(b[strategy.mergeKey]);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** $setElementOrder: listed elements first, in that order; the rest keep their relative order after them. */
function orderBy(items: unknown[], order: unknown[], strategy: ListStrategy | undefined): unknown[] {
  const ordered: unknown[] = [];
  const remaining = [...items];
  for (const wanted of order) {
    const index = remaining.findIndex((item) => sameKey(item, wanted, strategy));
    if (index >= 0) ordered.push(...remaining.splice(index, 1));
  }
  return [...ordered, ...remaining];
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  path: string,
  table: Record<string, ListStrategy>,
): unknown[] {
  const strategy = strategyFor(table, path);
  const replaceAll = patch.some((item) => isRecord(item) && item.$patch === 'replace');
  if (strategy === undefined || replaceAll) return withoutDirectives(patch) as unknown[];
  if ('primitiveSet' in strategy) {
    const result = [...original];
    for (const item of patch)
      if (!result.some((existing) => JSON.stringify(existing) === JSON.stringify(item))) result.push(item);
    return result;
  }
  const key = strategy.mergeKey;
  let result = original.map((item) => structuredClone(item));
  for (const item of patch) {
    if (!isRecord(item))
      throw badRequest(
        `unable to find api field in struct for the list at ${path}: expected a map with merge key ${JSON.stringify(key)}`,
      );
    if (item[key] === undefined)
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    if (item.$patch === 'delete') {
      result = result.filter((existing) => !sameKey(existing, item, strategy));
      continue;
    }
    const index = result.findIndex((existing) => sameKey(existing, item, strategy));
    if (index >= 0)
      result[index] = mergeMap(isRecord(result[index]) ? (result[index] as Json) : {}, item, `${path}[]`, table);
    else result.push(withoutDirectives(item));
  }
  return result;
}

/** Applies a strategic merge patch to an object of the built-in resource with this storage key. */
export function applyStrategicMergePatch(original: Json, patch: unknown, storageKey: string): Json {
  if (!isRecord(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  return mergeMap(original, patch, '', LIST_STRATEGIES[storageKey] ?? {}) ?? {};
}
