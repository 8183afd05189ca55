/**
 * Legacy (unaggregated) discovery: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>.
 * kubectl asks for aggregated discovery first and falls back to these when the answer is plain JSON.
 */
import { createHash } from 'node:crypto';
import { compareVersionPriority } from './crd.js';
import { apiVersionOf } from './resource-types.js';
import { hasScale } from './scale.js';
import type { ResourceType } from './types.js';

/** The kube-apiserver release this stand-in imitates (pods carry metadata.generation since 1.33). */
export const SERVER_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.1',
  gitCommit: '8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828',
  gitTreeState: 'clean',
  buildDate: '2025-05-15T08:19:08Z',
  goVersion: 'go1.24.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Subresources each built-in serves besides `status`. */
const EXTRA_SUBRESOURCES: Record<
  string,
  Array<{ name: string; kind: string; group?: string; version?: string; verbs: string[] }>
> = {
  '/pods': [{ name: 'binding', kind: 'Binding', verbs: ['create'] }],
  '/serviceaccounts': [
    { name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] },
  ],
};

function storageVersionHash(type: ResourceType): string {
  return createHash('sha256').update(`${type.group}/${type.version}/${type.kind}`).digest('base64').slice(0, 11);
}

function preferredVersion(types: ResourceType[], group: string): string {
  return types
    .filter((t) => t.group === group)
    .map((t) => t.version)
    .sort(compareVersionPriority)[0]!;
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(types: ResourceType[], group: string): Record<string, unknown> {
  const versions = [...new Set(types.filter((t) => t.group === group).map((t) => t.version))].sort(
    compareVersionPriority,
  );
  const preferred = preferredVersion(types, group);
  return {
    name: group,
    versions: versions.map((version) => ({ groupVersion: `${group}/${version}`, version })),
    preferredVersion: { groupVersion: `${group}/${preferred}`, version: preferred },
  };
}

export function apiGroupList(types: ResourceType[]): Record<string, unknown> {
  const groups = [...new Set(types.map((t) => t.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => groupEntry(types, g)) };
}

export function apiGroup(types: ResourceType[], group: string): Record<string, unknown> | undefined {
  if (!types.some((t) => t.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(types, group) };
}

export function apiResourceList(
  types: ResourceType[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const served = types.filter((t) => t.group === group && t.version === version);
  if (served.length === 0) return undefined;
  const resources: Array<Record<string, unknown>> = [];
  for (const t of served.sort((a, b) => a.plural.localeCompare(b.plural))) {
    const entry: Record<string, unknown> = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
    };
    if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
    if (t.categories.length > 0) entry.categories = t.categories;
    entry.storageVersionHash = storageVersionHash(t);
    resources.push(entry);
    for (const sub of EXTRA_SUBRESOURCES[`${t.group}/${t.plural}`] ?? []) {
      resources.push({
        name: `${t.plural}/${sub.name}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: sub.kind,
        verbs: sub.verbs,
      });
    }
    if (hasScale(t))
      resources.push({
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    if (t.hasStatus)
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
  }
  const list: Record<string, unknown> = {
    kind: 'APIResourceList',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
  if (group !== '') list.apiVersion = 'v1';
  return list;
}
