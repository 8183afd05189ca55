/**
 * ValidatingAdmissionPolicies and their bindings (`admissionregistration.k8s.io/v1`) as the policy
 * dispatcher uses them: read from the store on every admission, so a policy written a moment ago holds at
 * once, with the v1 defaults filled in. Bindings come in a fixed order (policy name, then binding name), so
 * the denial reported when several policies deny is always the same one.
 */
import { isRecord } from '../../../api/is-record.js';
import type { ClusterStore } from '../types.js';
import {
  readSelector,
  records,
  strings,
  type LabelSelector,
  type MatchCondition,
  type RuleWithOperations,
} from './webhook-configuration.js';

export const POLICY_GROUP = 'admissionregistration.k8s.io';
export const POLICIES_PLURAL = 'validatingadmissionpolicies';
export const POLICY_BINDINGS_PLURAL = 'validatingadmissionpolicybindings';

export interface NamedRuleWithOperations extends RuleWithOperations {
  /** Empty: every name. */
  resourceNames: string[];
}

export interface MatchResources {
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  resourceRules: NamedRuleWithOperations[];
  excludeResourceRules: NamedRuleWithOperations[];
  matchPolicy: 'Exact' | 'Equivalent';
}

export interface PolicyValidation {
  expression: string;
  message: string;
  messageExpression: string;
  /** The Status reason of a denial: Invalid (the default), Forbidden, Unauthorized or RequestEntityTooLarge. */
  reason: string;
}

export interface PolicyVariable {
  name: string;
  expression: string;
}

export interface ValidatingPolicy {
  name: string;
  failurePolicy: 'Fail' | 'Ignore';
  paramKind?: { apiVersion: string; kind: string };
  matchConstraints: MatchResources;
  matchConditions: MatchCondition[];
  variables: PolicyVariable[];
  validations: PolicyValidation[];
}

export interface ParamRef {
  name: string;
  namespace: string;
  selector?: LabelSelector;
  parameterNotFoundAction: 'Allow' | 'Deny';
}

export type ValidationAction = 'Deny' | 'Warn' | 'Audit';

export interface PolicyBinding {
  name: string;
  policyName: string;
  validationActions: ValidationAction[];
  matchResources?: MatchResources;
  paramRef?: ParamRef;
}

type Json = Record<string, unknown>;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function readNamedRule(value: Json): NamedRuleWithOperations {
  return {
    operations: strings(value.operations),
    apiGroups: strings(value.apiGroups),
    apiVersions: strings(value.apiVersions),
    resources: strings(value.resources),
    resourceNames: strings(value.resourceNames),
    scope: value.scope === 'Cluster' || value.scope === 'Namespaced' ? value.scope : '*',
  };
}

function readMatchResources(value: unknown): MatchResources {
  const match = isRecord(value) ? value : {};
  return {
    namespaceSelector: readSelector(match.namespaceSelector),
    objectSelector: readSelector(match.objectSelector),
    resourceRules: records(match.resourceRules).map(readNamedRule),
    excludeResourceRules: records(match.excludeResourceRules).map(readNamedRule),
    matchPolicy: match.matchPolicy === 'Exact' ? 'Exact' : 'Equivalent',
  };
}

function readPolicy(object: Json & { metadata: { name?: string } }): ValidatingPolicy {
  const spec = isRecord(object.spec) ? object.spec : {};
  const paramKind = isRecord(spec.paramKind) ? spec.paramKind : undefined;
  return {
    name: object.metadata.name ?? '',
    failurePolicy: spec.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
    ...(paramKind === undefined
      ? {}
      : { paramKind: { apiVersion: text(paramKind.apiVersion), kind: text(paramKind.kind) } }),
    matchConstraints: readMatchResources(spec.matchConstraints),
    matchConditions: records(spec.matchConditions).map((c) => ({ name: text(c.name), expression: text(c.expression) })),
    variables: records(spec.variables).map((v) => ({ name: text(v.name), expression: text(v.expression) })),
    validations: records(spec.validations).map((v) => ({
      expression: text(v.expression),
      message: text(v.message),
      messageExpression: text(v.messageExpression),
      reason: text(v.reason),
    })),
  };
}

function readBinding(object: Json & { metadata: { name?: string } }): PolicyBinding {
  const spec = isRecord(object.spec) ? object.spec : {};
  const paramRef = isRecord(spec.paramRef) ? spec.paramRef : undefined;
  return {
    name: object.metadata.name ?? '',
    policyName: text(spec.policyName),
    validationActions: strings(spec.validationActions).filter((a): a is ValidationAction =>
      ['Deny', 'Warn', 'Audit'].includes(a),
    ),
    ...(spec.matchResources === undefined || spec.matchResources === null
      ? {}
      : { matchResources: readMatchResources(spec.matchResources) }),
    ...(paramRef === undefined
      ? {}
      : {
          paramRef: {
            name: text(paramRef.name),
            namespace: text(paramRef.namespace),
            ...(isRecord(paramRef.selector) ? { selector: readSelector(paramRef.selector) } : {}),
            parameterNotFoundAction: paramRef.parameterNotFoundAction === 'Allow' ? 'Allow' : 'Deny',
          },
        }),
  };
}

export interface PolicyConfiguration {
  policies: Map<string, ValidatingPolicy>;
  /** Only bindings whose policy exists, ordered by policy name, then binding name. */
  bindings: PolicyBinding[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function readPolicyConfiguration(store: ClusterStore): PolicyConfiguration {
  const bindingType = store.resourceType(POLICY_GROUP, POLICY_BINDINGS_PLURAL);
  const policyType = store.resourceType(POLICY_GROUP, POLICIES_PLURAL);
  if (bindingType === undefined || policyType === undefined) return { policies: new Map(), bindings: [] };
  const storedBindings = store.list(bindingType).items;
  if (storedBindings.length === 0) return { policies: new Map(), bindings: [] };
  const policies = new Map(store.list(policyType).items.map((o) => [o.metadata.name ?? '', readPolicy(o)] as const));
  const bindings = storedBindings
    .map(readBinding)
    .filter((b) => policies.has(b.policyName))
    .sort((a, b) => byName(a.policyName, b.policyName) || byName(a.name, b.name));
  return { policies, bindings };
}
