/**
 * CustomResourceDefinitions: the resource types a CRD serves, the rules its instances follow (status
 * subresource, structural schema, generation on every non-metadata change), the status the CRD
 * controllers publish, and the CRD's own validation.
 */
import { isRecord } from '../../api/is-record.js';
import { causes, type FieldCause } from './errors.js';
import { applySchemaDefaults, pruneUnknownFields, validateAgainstSchema, type JsonSchema } from './crd-schema.js';
import { rfc3339, validateName } from './object-meta.js';
import { deepEqual, type TypeRules } from './type-rules.js';
import type { KubeObject, ResourceType } from './types.js';

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: unknown; scale?: unknown };
  additionalPrinterColumns?: Array<{
    name: string;
    type: string;
    jsonPath: string;
    format?: string;
    description?: string;
    priority?: number;
  }>;
  schema?: { openAPIV3Schema?: JsonSchema };
}

interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CrdVersion[];
}

function specOf(crd: KubeObject): CrdSpec {
  return crd.spec as CrdSpec;
}

/**
 * Kubernetes version priority (v1 > v1beta2 > v1beta1 > v1alpha1 > others alphabetically), which orders
 * discovery and picks the preferred version.
 */
export function compareVersionPriority(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return undefined;
    const stability = m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined && pb === undefined) return a.localeCompare(b);
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pb[i]! - pa[i]!;
  return 0;
}

/** One ResourceType per served version, the preferred (highest-priority) version first. */
export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  if (!isRecord(spec) || !isRecord(spec.names) || !Array.isArray(spec.versions)) return [];
  return spec.versions
    .filter((v) => v.served)
    .sort((a, b) => compareVersionPriority(a.name, b.name))
    .map((v) => ({
      group: spec.group,
      version: v.name,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      namespaced: spec.scope === 'Namespaced',
      hasStatus: isRecord(v.subresources) && v.subresources.status !== undefined,
      shortNames: spec.names.shortNames ?? [],
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      categories: spec.names.categories ?? [],
    }));
}

export function crdVersion(crd: KubeObject, version: string): CrdVersion | undefined {
  return specOf(crd).versions.find((v) => v.name === version);
}

/** Instances are validated, pruned and defaulted by the schema of the version they are written in. */
export function crdRulesFor(crd: KubeObject, type: ResourceType): TypeRules {
  const schema = crdVersion(crd, type.version)?.schema?.openAPIV3Schema;
  return {
    nameRule: 'subdomain',
    tracksGeneration: true,
    allowUnconditionalUpdate: false,
    returnsDeletedObject: true,
    applyDefaults(object) {
      pruneUnknownFields(object, schema);
      applySchemaDefaults(object, schema);
    },
    prepareForCreate(object) {
      if (type.hasStatus) delete object.status;
    },
    specChanged(object, old) {
      const strip = (o: KubeObject): Record<string, unknown> => {
        const { metadata: _m, status: _s, ...rest } = o;
        return type.hasStatus ? rest : { ...rest, status: o.status };
      };
      return !deepEqual(strip(object), strip(old));
    },
    validate(object) {
      return validateAgainstSchema(object, schema, '');
    },
    validateStatusUpdate(object) {
      return validateAgainstSchema(object, schema, '');
    },
  };
}

/** What the names and establishing controllers publish: accepted names, Established, the stored versions. */
export function establishedStatus(
  crd: KubeObject,
  previous: Record<string, unknown> | undefined,
  terminating: boolean,
  now: number,
): Record<string, unknown> {
  const spec = specOf(crd);
  const oldConditions = (Array.isArray(previous?.conditions) ? previous.conditions : []) as Array<
    Record<string, unknown>
  >;
  const condition = (type: string, status: string, reason: string, message: string): Record<string, unknown> => {
    const old = oldConditions.find((c) => c.type === type);
    const lastTransitionTime = old !== undefined && old.status === status ? old.lastTransitionTime : rfc3339(now);
    return { type, status, lastTransitionTime, reason, message };
  };
  const conditions = [
    condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
    condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'),
  ];
  if (terminating)
    conditions.push(
      condition('Terminating', 'True', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress'),
    );
  const storage = spec.versions.find((v) => v.storage)?.name;
  const stored = new Set<string>(Array.isArray(previous?.storedVersions) ? (previous.storedVersions as string[]) : []);
  if (storage !== undefined) stored.add(storage);
  const names: Record<string, unknown> = {
    plural: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
  };
  if (spec.names.shortNames !== undefined) names.shortNames = spec.names.shortNames;
  if (spec.names.categories !== undefined) names.categories = spec.names.categories;
  return { conditions, acceptedNames: names, storedVersions: [...stored] };
}

/** The parts of apiextensions validation a wrong manifest is likely to hit. */
export function validateCrd(crd: KubeObject): FieldCause[] {
  const problems: FieldCause[] = [];
  const spec = crd.spec as Partial<CrdSpec> | undefined;
  if (!isRecord(spec)) return [causes.required('spec')];
  if (typeof spec.group !== 'string' || spec.group === '') problems.push(causes.required('spec.group'));
  else if (!spec.group.includes('.'))
    problems.push(causes.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  const names = spec.names;
  if (!isRecord(names) || typeof names.plural !== 'string' || names.plural === '')
    problems.push(causes.required('spec.names.plural'));
  if (!isRecord(names) || typeof names.kind !== 'string' || names.kind === '')
    problems.push(causes.required('spec.names.kind'));
  if (
    isRecord(names) &&
    typeof names.plural === 'string' &&
    typeof spec.group === 'string' &&
    crd.metadata.name !== `${names.plural}.${spec.group}`
  ) {
    problems.push(causes.invalid('metadata.name', crd.metadata.name, `must be spec.names.plural+"."+spec.group`));
  }
  if (isRecord(names) && typeof names.plural === 'string')
    problems.push(...validateName(names.plural, 'label', 'spec.names.plural'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    problems.push(causes.notSupported('spec.scope', spec.scope ?? '', ['Cluster', 'Namespaced']));
  if (!Array.isArray(spec.versions) || spec.versions.length === 0)
    problems.push(
      causes.invalid('spec.versions', spec.versions ?? null, 'must have exactly one version marked as storage version'),
    );
  else {
    const storage = spec.versions.filter((v) => v.storage === true);
    if (storage.length !== 1)
      problems.push(
        causes.invalid(
          'spec.versions',
          spec.versions.map((v) => v.name),
          'must have exactly one version marked as storage version',
        ),
      );
    spec.versions.forEach((v, i) => {
      if (v.schema?.openAPIV3Schema === undefined)
        problems.push(causes.required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    });
  }
  return problems;
}
