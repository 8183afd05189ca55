/**
 * The RBAC authorizer over the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings in the store,
 * with kube-apiserver's rules: a ClusterRoleBinding grants its ClusterRole everywhere, a RoleBinding grants
 * its Role or ClusterRole in its own namespace; a rule matches on verb, API group, resource (`pods`,
 * `pods/status`, `*`, or a star before a subresource), and resourceNames when the request names an
 * object (so create, and a list or watch without a `metadata.name` field selector, never match a rule
 * with resourceNames).
 * `system:masters` may do anything, as the real server's authorizer chain lets it.
 */
import { isRecord } from '../../../api/is-record.js';
import type { ClusterStore, KubeObject, ResourceType, UserInfo } from '../types.js';

export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  /** False for paths outside the resource API (`/version`, `/openapi/v3`). */
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** Why not, when a binding that applies names a role that does not exist (kube's `RBAC: …` reason). */
  reason: string;
}

interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function rulesOf(role: KubeObject | undefined): PolicyRule[] {
  if (role === undefined || !Array.isArray(role.rules)) return [];
  return role.rules.filter(isRecord).map((rule) => ({
    verbs: strings(rule.verbs),
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    resourceNames: strings(rule.resourceNames),
    nonResourceURLs: strings(rule.nonResourceURLs),
  }));
}

export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return subject.name !== undefined && user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // A RoleBinding's subject without a namespace means the binding's own namespace.
      const namespace = subject.namespace || bindingNamespace;
      return user.username === `system:serviceaccount:${namespace}:${subject.name ?? ''}`;
    }
    default:
      return false;
  }
}

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(a.verb)) return false;
  if (!a.resourceRequest) {
    return rule.nonResourceURLs.some(
      (url) => url === '*' || url === a.path || (url.endsWith('*') && a.path.startsWith(url.slice(0, -1))),
    );
  }
  if (!rule.apiGroups.includes('*') && !rule.apiGroups.includes(a.apiGroup)) return false;
  const combined = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const resourceMatches = rule.resources.some(
    (r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`),
  );
  if (!resourceMatches) return false;
  return rule.resourceNames.length === 0 || (a.name !== '' && rule.resourceNames.includes(a.name));
}

export interface RbacTypes {
  roles: ResourceType;
  clusterRoles: ResourceType;
  roleBindings: ResourceType;
  clusterRoleBindings: ResourceType;
}

export function authorize(store: ClusterStore, types: RbacTypes, a: RequestAttributes): Decision {
  if (a.user.groups.includes('system:masters')) return { allowed: true, reason: '' };
  const errors: string[] = [];
  const roleRefOf = (binding: KubeObject): { kind: string; name: string } | undefined => {
    const ref = binding.roleRef;
    return isRecord(ref) && typeof ref.kind === 'string' && typeof ref.name === 'string'
      ? { kind: ref.kind, name: ref.name }
      : undefined;
  };
  const applies = (binding: KubeObject, namespace: string): boolean =>
    Array.isArray(binding.subjects) &&
    binding.subjects.some((s) => isRecord(s) && subjectMatches(s as Subject, a.user, namespace));
  const grants = (rules: PolicyRule[]): boolean => rules.some((rule) => ruleAllows(rule, a));

  for (const binding of store.list(types.clusterRoleBindings).items) {
    const ref = roleRefOf(binding);
    if (ref === undefined || ref.kind !== 'ClusterRole' || !applies(binding, '')) continue;
    const role = store.get(types.clusterRoles, undefined, ref.name);
    if (role === undefined) errors.push(`clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`);
    else if (grants(rulesOf(role))) return { allowed: true, reason: '' };
  }
  // Namespaced grants apply to resource requests in that namespace only.
  if (a.resourceRequest && a.namespace !== '') {
    for (const binding of store.list(types.roleBindings, { namespace: a.namespace }).items) {
      const ref = roleRefOf(binding);
      if (ref === undefined || !applies(binding, a.namespace)) continue;
      const role =
        ref.kind === 'ClusterRole'
          ? store.get(types.clusterRoles, undefined, ref.name)
          : store.get(types.roles, a.namespace, ref.name);
      if (role === undefined)
        errors.push(
          `${ref.kind === 'ClusterRole' ? 'clusterrole' : 'role'}.rbac.authorization.k8s.io "${ref.name}" not found`,
        );
      else if (grants(rulesOf(role))) return { allowed: true, reason: '' };
    }
  }
  return { allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${errors.join(', ')}` };
}

/** kube-apiserver's words for a refusal (responsewriters.forbiddenMessage), without the resource prefix. */
export function forbiddenMessage(a: RequestAttributes): string {
  if (!a.resourceRequest) return `User "${a.user.username}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const where = a.namespace === '' ? 'at the cluster scope' : `in the namespace "${a.namespace}"`;
  return `User "${a.user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${where}`;
}
