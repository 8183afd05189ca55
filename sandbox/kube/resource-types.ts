/**
 * The built-in resources the stand-in serves, and the registry that CustomResourceDefinitions add to.
 * One entry per served group/version/plural; storage is per group/plural, so every served version of a
 * CRD shares its objects.
 */
import type { ResourceType } from './types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtIn(
  group: string,
  version: string,
  plural: string,
  kind: string,
  shape: {
    namespaced: boolean;
    hasStatus?: boolean;
    shortNames?: string[];
    categories?: string[];
    singular?: string;
    verbs?: string[];
  },
): ResourceType {
  return {
    group,
    version,
    plural,
    singular: shape.singular ?? kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: shape.namespaced,
    hasStatus: shape.hasStatus ?? false,
    shortNames: shape.shortNames ?? [],
    verbs: shape.verbs ?? ALL_VERBS,
    categories: shape.categories ?? [],
  };
}

export function builtInResourceTypes(): ResourceType[] {
  return [
    builtIn('', 'v1', 'namespaces', 'Namespace', { namespaced: false, hasStatus: true, shortNames: ['ns'] }),
    builtIn('', 'v1', 'pods', 'Pod', { namespaced: true, hasStatus: true, shortNames: ['po'], categories: ['all'] }),
    builtIn('', 'v1', 'nodes', 'Node', { namespaced: false, hasStatus: true, shortNames: ['no'] }),
    builtIn('', 'v1', 'services', 'Service', {
      namespaced: true,
      hasStatus: true,
      shortNames: ['svc'],
      categories: ['all'],
    }),
    builtIn('', 'v1', 'endpoints', 'Endpoints', { namespaced: true, shortNames: ['ep'], singular: 'endpoints' }),
    builtIn('', 'v1', 'secrets', 'Secret', { namespaced: true }),
    builtIn('', 'v1', 'configmaps', 'ConfigMap', { namespaced: true, shortNames: ['cm'] }),
    builtIn('', 'v1', 'serviceaccounts', 'ServiceAccount', { namespaced: true, shortNames: ['sa'] }),
    builtIn('', 'v1', 'events', 'Event', { namespaced: true, shortNames: ['ev'] }),
    builtIn('coordination.k8s.io', 'v1', 'leases', 'Lease', { namespaced: true }),
    builtIn('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', {
      namespaced: false,
      categories: ['api-extensions'],
    }),
    builtIn('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', {
      namespaced: false,
      categories: ['api-extensions'],
    }),
    builtIn('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies', 'ValidatingAdmissionPolicy', {
      namespaced: false,
      hasStatus: true,
      categories: ['api-extensions'],
    }),
    builtIn(
      'admissionregistration.k8s.io',
      'v1',
      'validatingadmissionpolicybindings',
      'ValidatingAdmissionPolicyBinding',
      {
        namespaced: false,
        categories: ['api-extensions'],
      },
    ),
    builtIn('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', {
      namespaced: false,
      hasStatus: true,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
    }),
    builtIn('apps', 'v1', 'deployments', 'Deployment', {
      namespaced: true,
      hasStatus: true,
      shortNames: ['deploy'],
      categories: ['all'],
    }),
    builtIn('apps', 'v1', 'replicasets', 'ReplicaSet', {
      namespaced: true,
      hasStatus: true,
      shortNames: ['rs'],
      categories: ['all'],
    }),
    builtIn('apps', 'v1', 'statefulsets', 'StatefulSet', {
      namespaced: true,
      hasStatus: true,
      shortNames: ['sts'],
      categories: ['all'],
    }),
    builtIn('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', { namespaced: true }),
    builtIn('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', { namespaced: false }),
    builtIn('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', { namespaced: true }),
    builtIn('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', { namespaced: false }),
    builtIn('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', {
      namespaced: true,
      hasStatus: true,
      shortNames: ['pdb'],
    }),
    builtIn('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', {
      namespaced: true,
      shortNames: ['netpol'],
    }),
    // Answered, never stored (sandbox/kube/auth/reviews.ts).
    builtIn('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', {
      namespaced: false,
      verbs: ['create'],
    }),
    builtIn('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview', {
      namespaced: false,
      verbs: ['create'],
    }),
    builtIn('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview', {
      namespaced: false,
      verbs: ['create'],
    }),
  ];
}

/** Storage identity of a resource: every served version of it shares one key. */
export function storageKey(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export function isBuiltIn(type: Pick<ResourceType, 'group' | 'plural'>): boolean {
  return BUILT_IN_KEYS.has(storageKey(type));
}

const BUILT_IN_KEYS = new Set(builtInResourceTypes().map(storageKey));

/** Every served version of every resource; the first registered version of a resource is its preferred one. */
export class ResourceRegistry {
  private readonly types: ResourceType[] = [];

  constructor(initial: ResourceType[]) {
    for (const type of initial) this.add(type);
  }

  add(type: ResourceType): void {
    this.remove(type.group, type.plural, type.version);
    this.types.push({ ...type });
  }

  remove(group: string, plural: string, version?: string): void {
    for (let i = this.types.length - 1; i >= 0; i--) {
      const t = this.types[i]!;
      if (t.group === group && t.plural === plural && (version === undefined || t.version === version))
        this.types.splice(i, 1);
    }
  }

  all(): ResourceType[] {
    return this.types.map((t) => ({ ...t }));
  }

  byPlural(group: string, plural: string, version?: string): ResourceType | undefined {
    const found = this.types.find(
      (t) => t.group === group && t.plural === plural && (version === undefined || t.version === version),
    );
    return found === undefined ? undefined : { ...found };
  }

  byKind(group: string, kind: string, version?: string): ResourceType | undefined {
    const found = this.types.find(
      (t) => t.group === group && t.kind === kind && (version === undefined || t.version === version),
    );
    return found === undefined ? undefined : { ...found };
  }
}
