/**
 * The default policy kube-apiserver writes at start that every authenticated user relies on: discovery
 * and version (system:discovery), asking what one may do and who one is (system:basic-user), and health
 * (system:public-info-viewer, also for anonymous callers), each bound to its group.
 */
import type { ClusterStore, ResourceType } from '../types.js';

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

const POLICY: Array<{ name: string; rules: Record<string, string[]>[]; groups: string[] }> = [
  {
    name: 'system:discovery',
    rules: [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
        verbs: ['get'],
      },
    ],
    groups: ['system:authenticated'],
  },
  {
    name: 'system:basic-user',
    rules: [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ],
    groups: ['system:authenticated'],
  },
  {
    name: 'system:public-info-viewer',
    rules: [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }],
    groups: ['system:authenticated', 'system:unauthenticated'],
  },
];

export function writeBootstrapPolicy(
  store: ClusterStore,
  types: { clusterRoles: ResourceType; clusterRoleBindings: ResourceType },
): void {
  for (const { name, rules, groups } of POLICY) {
    const metadata = { name, labels: BOOTSTRAP_LABELS, annotations: AUTOUPDATE };
    store.create(types.clusterRoles, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata,
      rules,
    });
    store.create(types.clusterRoleBindings, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: groups.map((group) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group })),
    });
  }
}
