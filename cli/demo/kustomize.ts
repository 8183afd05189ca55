/**
 * `kubectl kustomize DIR` for the demo, which must run where only Node is installed: the part of
 * kustomize that podeip's deploy/ uses — resources (files and folders), components, configMapGenerator and
 * secretGenerator (files and literals, without name hashes), and strategic-merge patches (including
 * `$patch: delete`) matched by kind, name and namespace, in kustomize's order (resources, components,
 * generators, patches). Anything else in a kustomization is refused by name rather than ignored, and a
 * test holds the output equal to kubectl's for every overlay in deploy/.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { isRecord } from '../../api/is-record.js';
import { createClusterStore } from '../../sandbox/kube/store.js';
import { applyStrategicMergePatch } from '../../sandbox/kube/strategic-merge.js';

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** Applies a strategic merge patch to an object of this apiVersion and kind (the sandbox's, for the demo). */
export type StrategicMerge = (object: RenderedObject, patch: Record<string, unknown>) => RenderedObject;

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'metadata',
  'resources',
  'components',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'patches',
]);

class KustomizeError extends Error {}

/** Kubernetes reads manifests as YAML 1.1, where `defaultMode: 0440` is octal (288), not 440. */
const YAML_AS_KUBERNETES = { version: '1.1' } as const;

function readKustomization(dir: string): Record<string, unknown> {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((name) => join(dir, name))
    .find(existsSync);
  if (file === undefined) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const content: unknown = parse(readFileSync(file, 'utf8'), YAML_AS_KUBERNETES);
  if (!isRecord(content)) throw new KustomizeError(`${file}: not a mapping`);
  const unsupported = Object.keys(content).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0)
    throw new KustomizeError(`${file}: the demo's renderer does not support ${unsupported.join(', ')}`);
  return content;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function readObjects(file: string): RenderedObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), YAML_AS_KUBERNETES)
    .map((document) => document.toJS() as unknown)
    .filter((object): object is RenderedObject => isRecord(object));
}

const identity = (o: { apiVersion?: unknown; kind?: unknown; metadata?: unknown }): string => {
  const metadata = isRecord(o.metadata) ? o.metadata : {};
  const group = String(o.apiVersion ?? '').includes('/') ? String(o.apiVersion).split('/')[0] : '';
  return `${group}|${String(o.kind)}|${String(metadata.namespace ?? '')}|${String(metadata.name ?? '')}`;
};

function generated(
  dir: string,
  spec: Record<string, unknown>,
  kind: 'ConfigMap' | 'Secret',
  hashDisabled: boolean,
): { object: RenderedObject; behavior: string } {
  const options = isRecord(spec.options) ? spec.options : {};
  const behavior = typeof spec.behavior === 'string' ? spec.behavior : 'create';
  // A replace or merge keeps the name (and so the hash setting) of what it replaces.
  if (behavior === 'create' && !hashDisabled && options.disableNameSuffixHash !== true)
    throw new KustomizeError(
      `${String(spec.name)}: the demo's renderer makes no name hashes; set options.disableNameSuffixHash`,
    );
  const entries: [string, Buffer][] = [];
  for (const file of strings(spec.files)) {
    const [key, path] = file.includes('=')
      ? [file.slice(0, file.indexOf('=')), file.slice(file.indexOf('=') + 1)]
      : [basename(file), file];
    entries.push([key, readFileSync(join(dir, path))]);
  }
  for (const literal of strings(spec.literals)) {
    const at = literal.indexOf('=');
    entries.push([literal.slice(0, at), Buffer.from(literal.slice(at + 1))]);
  }
  const metadata = {
    name: String(spec.name),
    ...(typeof spec.namespace === 'string' ? { namespace: spec.namespace } : {}),
  };
  const object: RenderedObject =
    kind === 'ConfigMap'
      ? {
          apiVersion: 'v1',
          kind,
          metadata,
          data: Object.fromEntries(entries.map(([key, value]) => [key, value.toString('utf8')])),
        }
      : {
          apiVersion: 'v1',
          kind,
          metadata,
          type: typeof spec.type === 'string' ? spec.type : 'Opaque',
          data: Object.fromEntries(entries.map(([key, value]) => [key, value.toString('base64')])),
        };
  return { object, behavior };
}

function runGenerators(dir: string, kustomization: Record<string, unknown>, objects: RenderedObject[]): void {
  const options = isRecord(kustomization.generatorOptions) ? kustomization.generatorOptions : {};
  const hashDisabled = options.disableNameSuffixHash === true;
  const lists: [unknown, 'ConfigMap' | 'Secret'][] = [
    [kustomization.configMapGenerator, 'ConfigMap'],
    [kustomization.secretGenerator, 'Secret'],
  ];
  for (const [list, kind] of lists) {
    for (const spec of Array.isArray(list) ? list.filter(isRecord) : []) {
      const { object, behavior } = generated(dir, spec, kind, hashDisabled);
      const index = objects.findIndex((o) => identity(o) === identity(object));
      if (behavior === 'create') {
        if (index >= 0) throw new KustomizeError(`${kind} ${object.metadata.name} already exists (behavior: create)`);
        objects.push(object);
      } else if (index < 0) {
        throw new KustomizeError(`${kind} ${object.metadata.name}: nothing to ${behavior}`);
      } else if (behavior === 'replace') {
        objects[index] = object;
      } else {
        const existing = objects[index] as RenderedObject & { data?: Record<string, string> };
        objects[index] = { ...object, data: { ...existing.data, ...(object.data as Record<string, string>) } };
      }
    }
  }
}

function runPatches(
  dir: string,
  kustomization: Record<string, unknown>,
  objects: RenderedObject[],
  merge: StrategicMerge,
): RenderedObject[] {
  let result = objects;
  for (const entry of Array.isArray(kustomization.patches) ? kustomization.patches.filter(isRecord) : []) {
    if (entry.target !== undefined || entry.options !== undefined)
      throw new KustomizeError('patches: the demo renderer supports strategic-merge patches without target or options');
    const documents =
      typeof entry.path === 'string'
        ? readObjects(join(dir, entry.path))
        : parseAllDocuments(String(entry.patch ?? ''), YAML_AS_KUBERNETES).map(
            (document) => document.toJS() as unknown,
          );
    for (const patch of documents) {
      if (!isRecord(patch)) throw new KustomizeError('patches: only strategic-merge patches (mappings) are supported');
      const key = identity(patch);
      const index = result.findIndex((o) => identity(o) === key);
      if (index < 0) throw new KustomizeError(`patches: no object matches ${key.replace(/\|/g, ' ')}`);
      if (patch.$patch === 'delete') result = result.filter((_, i) => i !== index);
      else result[index] = merge(result[index]!, patch);
    }
  }
  return result;
}

function build(dir: string, merge: StrategicMerge, seen: Set<string>): RenderedObject[] {
  const path = resolve(dir);
  if (seen.has(path)) throw new KustomizeError(`${path}: included twice`);
  seen.add(path);
  const kustomization = readKustomization(path);
  let objects: RenderedObject[] = [];
  for (const resource of strings(kustomization.resources)) {
    const target = join(path, resource);
    objects.push(...(statSync(target).isDirectory() ? build(target, merge, seen) : readObjects(target)));
  }
  for (const component of strings(kustomization.components))
    objects = applyComponent(join(path, component), objects, merge, seen);
  runGenerators(path, kustomization, objects);
  return runPatches(path, kustomization, objects, merge);
}

function applyComponent(
  dir: string,
  objects: RenderedObject[],
  merge: StrategicMerge,
  seen: Set<string>,
): RenderedObject[] {
  const path = resolve(dir);
  const kustomization = readKustomization(path);
  if (kustomization.kind !== 'Component') throw new KustomizeError(`${path}: not a Component`);
  const result = [...objects];
  for (const resource of strings(kustomization.resources)) {
    const target = join(path, resource);
    result.push(...(statSync(target).isDirectory() ? build(target, merge, seen) : readObjects(target)));
  }
  runGenerators(path, kustomization, result);
  return runPatches(path, kustomization, result, merge);
}

/** The objects `kubectl kustomize dir` would print, or an error naming what the renderer cannot do. */
export function renderKustomization(dir: string, merge: StrategicMerge): RenderedObject[] {
  try {
    return build(dir, merge, new Set());
  } catch (error) {
    if (error instanceof KustomizeError) throw new Error(`cannot render ${dir}: ${error.message}`);
    throw error;
  }
}

const MERGE_KEYS = ['name', 'mountPath', 'containerPort', 'port', 'ip', 'topologyKey'];

/**
 * kustomize lists the items a patch names first, in the patch's order, then the others; the API server's
 * strategic merge keeps the original order and appends. Same content, but the parity with kubectl is exact.
 */
function patchOrder(merged: unknown, patch: unknown): unknown {
  if (Array.isArray(merged) && Array.isArray(patch)) {
    const items = patch.filter(isRecord);
    const key = MERGE_KEYS.find((k) => items.length > 0 && items.every((item) => item[k] !== undefined));
    if (key === undefined) return merged;
    const named = items.map((item) => item[key]);
    const first = named
      .map((value) => merged.find((m) => isRecord(m) && m[key] === value))
      .filter((m) => m !== undefined);
    const rest = merged.filter((m) => !(isRecord(m) && named.includes(m[key])));
    return [...first, ...rest].map((item) => {
      const source = isRecord(item) ? items.find((p) => p[key] === item[key]) : undefined;
      return source === undefined ? item : patchOrder(item, source);
    });
  }
  if (isRecord(merged) && isRecord(patch)) {
    const result: Record<string, unknown> = { ...merged };
    for (const [field, value] of Object.entries(patch))
      if (field in result) result[field] = patchOrder(result[field], value);
    return result;
  }
  return merged;
}

/** Strategic merge as the sandbox's API server applies it to built-in kinds, in kustomize's list order. */
export function sandboxStrategicMerge(): StrategicMerge {
  const store = createClusterStore();
  return (object, patch) => {
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
    const type = store.resourceTypeForKind(group, object.kind);
    const key = type === undefined ? '' : `${type.group}/${type.plural}`;
    return patchOrder(applyStrategicMergePatch(object, patch, key), patch) as RenderedObject;
  };
}
