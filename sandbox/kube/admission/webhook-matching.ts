/**
 * Whether a webhook applies to a request, decided as kube-apiserver's ShouldCallHook decides it: the
 * namespaceSelector, the objectSelector, then the rules (the request's own version first; under
 * matchPolicy Equivalent, then the other served versions of the same resource). matchConditions come
 * last and live in match-conditions.ts. ValidatingAdmissionPolicies match requests with the same parts.
 */
import { internalError, notFound } from '../errors.js';
import type { AdmissionAttributes, ClusterStore, KubeObject, ResourceType, StatusError } from '../types.js';
import { compileLabelSelector, isEmptySelector } from '../../../api/label-selector.js';
import type { LabelSelector, MutatingWebhook, RuleWithOperations } from './webhook-configuration.js';

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** What the webhook is called with: the request's resource, or an equivalent version of it. */
export interface Invocation {
  /** The served version the webhook sees the object in. */
  type: ResourceType;
  resource: GroupVersionResource;
  kind: GroupVersionKind;
  subresource: string;
}

/** The parts of a request a rule looks at. */
export interface RuleSubject {
  operation: string;
  resource: GroupVersionResource;
  subresource: string;
  /**
   * The request's namespace: empty for cluster-scoped objects, the namespace's own name for a namespace (except on
   * CREATE).
   */
  namespace: string;
}

export function isNamespacesResource(resource: Pick<GroupVersionResource, 'group' | 'resource'>): boolean {
  return resource.group === '' && resource.resource === 'namespaces';
}

/**
 * kube-apiserver takes a request's namespace from its URL, so a write to `/api/v1/namespaces/x` is in
 * namespace `x`, while a create of a namespace (POST to the collection) is in none.
 */
export function requestNamespaceOf(attributes: AdmissionAttributes): string {
  if (attributes.type.group === '' && attributes.type.plural === 'namespaces')
    return attributes.operation === 'CREATE' ? '' : attributes.name;
  return attributes.namespace ?? '';
}

function exactOrWildcard(items: string[], requested: string): boolean {
  return items.some((item) => item === '*' || item === requested);
}

function scopeMatches(rule: RuleWithOperations, subject: RuleSubject): boolean {
  const namespaceObject = isNamespacesResource(subject.resource) && subject.resource.version === 'v1';
  switch (rule.scope) {
    case 'Namespaced':
      return !namespaceObject && subject.namespace !== '';
    case 'Cluster':
      return namespaceObject || subject.namespace === '';
    default:
      return true;
  }
}

function resourceMatches(rule: RuleWithOperations, subject: RuleSubject): boolean {
  return rule.resources.some((entry) => {
    const slash = entry.indexOf('/');
    const resource = slash < 0 ? entry : entry.slice(0, slash);
    const subresource = slash < 0 ? '' : entry.slice(slash + 1);
    return (
      (resource === '*' || resource === subject.resource.resource) &&
      (subresource === '*' || subresource === subject.subresource)
    );
  });
}

export function ruleMatches(rule: RuleWithOperations, subject: RuleSubject): boolean {
  return (
    scopeMatches(rule, subject) &&
    exactOrWildcard(rule.operations, subject.operation) &&
    exactOrWildcard(rule.apiGroups, subject.resource.group) &&
    exactOrWildcard(rule.apiVersions, subject.resource.version) &&
    resourceMatches(rule, subject)
  );
}

function invocationFor(type: ResourceType, subresource: string): Invocation {
  return {
    type,
    resource: { group: type.group, version: type.version, resource: type.plural },
    kind: { group: type.group, version: type.version, kind: type.kind },
    subresource,
  };
}

/**
 * The invocation if any rule matches. `servedVersions` are every served version of the request's
 * resource (the stand-in's equivalents: one resource, several versions; no cross-group aliases).
 */
export function findInvocation(
  webhook: Pick<MutatingWebhook, 'rules' | 'matchPolicy'>,
  attributes: AdmissionAttributes,
  servedVersions: ResourceType[],
): Invocation | undefined {
  const subresource = attributes.subresource ?? '';
  const subject = (type: ResourceType): RuleSubject => ({
    operation: attributes.operation,
    resource: { group: type.group, version: type.version, resource: type.plural },
    subresource,
    namespace: requestNamespaceOf(attributes),
  });
  if (webhook.rules.some((rule) => ruleMatches(rule, subject(attributes.type))))
    return invocationFor(attributes.type, subresource);
  if (webhook.matchPolicy !== 'Equivalent') return undefined;
  const equivalents = servedVersions.filter((t) => t.version !== attributes.type.version);
  // Earlier rules win, as in kube-apiserver: the outer loop is over rules, the inner over equivalents.
  for (const rule of webhook.rules) {
    const match = equivalents.find((type) => ruleMatches(rule, subject(type)));
    if (match !== undefined) return invocationFor(match, subresource);
  }
  return undefined;
}

export interface SelectorOutcome {
  matches: boolean;
  /** Reported only if the webhook's rules match the request, as kube-apiserver does. */
  error?: StatusError;
}

function parsedOrError(
  selector: LabelSelector,
): ((labels: Record<string, string> | undefined) => boolean) | StatusError {
  const compiled = compileLabelSelector(selector);
  return typeof compiled === 'function' ? compiled : internalError(compiled.error);
}

function labelsOf(object: KubeObject | undefined): Record<string, string> | undefined {
  return object?.metadata?.labels;
}

export function matchNamespaceSelector(
  webhook: Pick<MutatingWebhook, 'namespaceSelector'>,
  attributes: AdmissionAttributes,
  store: ClusterStore,
): SelectorOutcome {
  const namespace = requestNamespaceOf(attributes);
  const namespaceObject = attributes.type.group === '' && attributes.type.plural === 'namespaces';
  // Cluster-scoped objects other than namespaces are never exempted by a namespaceSelector.
  if (namespace === '' && !namespaceObject) return { matches: true };
  const matcher = parsedOrError(webhook.namespaceSelector);
  if (typeof matcher !== 'function') return { matches: false, error: matcher };
  if (isEmptySelector(webhook.namespaceSelector)) return { matches: true };
  if (
    namespaceObject &&
    (attributes.subresource ?? '') === '' &&
    (attributes.operation === 'CREATE' || attributes.operation === 'UPDATE')
  ) {
    return { matches: matcher(labelsOf(attributes.object)) };
  }
  const namespaces = store.resourceType('', 'namespaces')!;
  const found = store.get(namespaces, undefined, namespace);
  if (found === undefined) return { matches: false, error: notFound(namespaces, namespace) };
  return { matches: matcher(labelsOf(found)) };
}

export function matchObjectSelector(
  webhook: Pick<MutatingWebhook, 'objectSelector'>,
  attributes: AdmissionAttributes,
): SelectorOutcome {
  const matcher = parsedOrError(webhook.objectSelector);
  if (typeof matcher !== 'function') return { matches: false, error: matcher };
  if (isEmptySelector(webhook.objectSelector)) return { matches: true };
  const matchesObject = (object: KubeObject | undefined): boolean => object !== undefined && matcher(labelsOf(object));
  return { matches: matchesObject(attributes.object) || matchesObject(attributes.oldObject) };
}
