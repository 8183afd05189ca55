/**
 * The ValidatingAdmissionPolicy plugin of kube-apiserver: after mutation, on the object as it would be
 * stored, every binding whose policy matches the request (the policy's matchConstraints, then the
 * binding's matchResources) evaluates the policy's matchConditions, then its validations, with the CEL
 * variables `object`, `oldObject` (null when absent), `request`, `params`, `namespaceObject` and
 * `variables` (each composited variable evaluated when first used). A validation that is false, or that
 * fails to evaluate under failurePolicy Fail, is acted on as the binding's validationActions say: Deny
 * refuses the request (the first denial is the one reported), Warn adds a warning, Audit logs it. The
 * `authorizer` variable is not bound, so an expression using it fails to evaluate; type checking and
 * auditAnnotations are not done.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { forbidden } from '../errors.js';
import {
  StatusError,
  type AdmissionAttributes,
  type ClusterStore,
  type KubeObject,
  type ResourceType,
} from '../types.js';
import { AdmissionRefusal } from './admission-errors.js';
import { buildAdmissionRequest, celRequestOf } from './admission-review.js';
import { evaluateCel, toCelValue, type CelOutcome } from './cel.js';
import { compileLabelSelector } from '../../../api/label-selector.js';
import { evaluateBoundMatchConditions } from './match-conditions.js';
import {
  readPolicyConfiguration,
  type MatchResources,
  type NamedRuleWithOperations,
  type PolicyBinding,
  type ValidatingPolicy,
} from './policy-configuration.js';
import {
  findInvocation,
  matchNamespaceSelector,
  matchObjectSelector,
  requestNamespaceOf,
  ruleMatches,
  type Invocation,
} from './webhook-matching.js';
import { isExemptFromWebhooks } from './webhook-dispatcher.js';

export interface PolicyValidation {
  /**
   * Refuses the write (throws a StatusError) if a binding with Deny says so; returns the Warn bindings'
   * warnings otherwise. `attributes.object` is the object as it would be stored.
   */
  validate(attributes: AdmissionAttributes): string[];
}

/** One request as every binding sees it (requestContext). */
interface RequestContext {
  attributes: AdmissionAttributes;
  /** The request's namespace, as matching and params use it ('' for cluster-scoped objects). */
  namespace: string;
  servedVersions: ResourceType[];
  /** object, oldObject, request and namespaceObject in CEL form, as the invocation's version shows them. */
  variables(invocation: Invocation): Record<string, unknown>;
}

/** What one binding decided against the request: a validation that failed, or an error under Fail. */
interface Decision {
  message: string;
  reason: string;
}

const REASON_CODES: Record<string, number> = {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
};

/** apimachinery's admission.NewForbidden, with the validation's reason and its code. */
function policyDenied(
  attributes: AdmissionAttributes,
  policy: ValidatingPolicy,
  binding: PolicyBinding,
  decision: Decision,
): StatusError {
  const message = `ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}' denied request: ${decision.message}`;
  const base = forbidden(attributes.type, attributes.name, message).status;
  const reason = decision.reason === '' ? 'Invalid' : decision.reason;
  return new StatusError({
    ...base,
    reason,
    code: REASON_CODES[reason] ?? 422,
    details: { ...base.details, causes: [{ message }] },
  });
}

function nameMatches(rule: NamedRuleWithOperations, name: string): boolean {
  return rule.resourceNames.length === 0 || rule.resourceNames.includes(name);
}

const ANY_RESOURCE = {
  operations: ['*'],
  apiGroups: ['*'],
  apiVersions: ['*'],
  resources: ['*', '*/*'],
  scope: '*' as const,
};

type MatchOutcome = { invocation: Invocation } | { error: string } | undefined;

/** The policy's or binding's MatchResources: selectors first, then the rules, then the exclusions. */
function matchResources(
  match: MatchResources,
  attributes: AdmissionAttributes,
  store: ClusterStore,
  servedVersions: ResourceType[],
): MatchOutcome {
  const namespaceMatch = matchNamespaceSelector(match, attributes, store);
  if (!namespaceMatch.matches && namespaceMatch.error === undefined) return undefined;
  const objectMatch = matchObjectSelector(match, attributes);
  if (!objectMatch.matches && objectMatch.error === undefined) return undefined;
  const rules = match.resourceRules.filter((rule) => nameMatches(rule, attributes.name));
  // A binding's matchResources without resourceRules narrows by its selectors alone.
  const anyResource = match.resourceRules.length === 0 ? [ANY_RESOURCE] : rules;
  const invocation = findInvocation({ rules: anyResource, matchPolicy: match.matchPolicy }, attributes, servedVersions);
  if (invocation === undefined) return undefined;
  const subject = {
    operation: attributes.operation,
    resource: { group: attributes.type.group, version: attributes.type.version, resource: attributes.type.plural },
    subresource: attributes.subresource ?? '',
    namespace: requestNamespaceOf(attributes),
  };
  if (match.excludeResourceRules.some((rule) => nameMatches(rule, attributes.name) && ruleMatches(rule, subject)))
    return undefined;
  const error = namespaceMatch.error ?? objectMatch.error;
  if (error !== undefined) return { error: error.status.message };
  return { invocation };
}

/** The `params` objects a binding evaluates its policy with: [null] without paramKind. */
function paramsFor(
  policy: ValidatingPolicy,
  binding: PolicyBinding,
  requestNamespace: string,
  store: ClusterStore,
): { params: (KubeObject | null)[] } | { error: string } {
  if (policy.paramKind === undefined) return { params: [null] };
  const ref = binding.paramRef;
  if (ref === undefined) return { error: `failed to configure binding: paramRef is required when paramKind is set` };
  const { apiVersion, kind } = policy.paramKind;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const type = store.resourceTypes().find((t) => t.group === group && t.version === version && t.kind === kind);
  if (type === undefined)
    return {
      error: `failed to configure policy: failed to find resource referenced by paramKind: '${apiVersion}, Kind=${kind}'`,
    };
  let namespace: string | undefined;
  if (type.namespaced) {
    namespace = ref.namespace !== '' ? ref.namespace : requestNamespace;
    if (namespace === '')
      return {
        error: `failed to configure binding: cannot use namespaced paramRef in policy binding that matches cluster-scoped resources`,
      };
  }
  let found: KubeObject[];
  if (ref.name !== '') {
    const one = store.get(type, namespace, ref.name);
    found = one === undefined ? [] : [one];
  } else {
    const matcher = compileLabelSelector(ref.selector ?? {});
    if (typeof matcher !== 'function') return { error: `failed to configure binding: ${matcher.error}` };
    found = store
      .list(type, namespace === undefined ? {} : { namespace })
      .items.filter((o) => matcher(o.metadata.labels));
  }
  if (found.length > 0) return { params: found };
  if (ref.parameterNotFoundAction === 'Allow') return { params: [] };
  return {
    error: 'failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction',
  };
}

/**
 * The `variables` object: each composited variable is evaluated the first time an expression reads it (so
 * one that fails matters only to the expressions that use it), at most once per evaluation context.
 */
function compositedVariables(
  definitions: ValidatingPolicy['variables'],
  bound: Record<string, unknown>,
): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  const scope = { ...bound, variables };
  for (const { name, expression } of definitions) {
    let outcome: CelOutcome | 'evaluating' | undefined;
    Object.defineProperty(variables, name, {
      enumerable: true,
      get() {
        if (outcome === 'evaluating') throw new Error(`composited variable "${name}" refers to itself`);
        if (outcome === undefined) {
          outcome = 'evaluating';
          outcome = evaluateCel(expression, scope);
        }
        if (!outcome.ok) throw new Error(`composited variable "${name}" fails to evaluate: ${outcome.error}`);
        return outcome.value;
      },
    });
  }
  return scope;
}

export function createPolicyValidation(store: ClusterStore, logger?: Logger): PolicyValidation {
  const log = logger?.child({ component: 'validating-admission-policy' });

  /** Every decision of one binding against the request; empty when it does not apply or everything holds. */
  function decide(policy: ValidatingPolicy, binding: PolicyBinding, context: RequestContext): Decision[] {
    const { attributes, servedVersions } = context;
    const onError = (message: string): Decision[] =>
      policy.failurePolicy === 'Ignore' ? [] : [{ message, reason: 'Invalid' }];
    const matched = matchResources(policy.matchConstraints, attributes, store, servedVersions);
    if (matched === undefined) return [];
    if ('error' in matched) return onError(matched.error);
    if (binding.matchResources !== undefined) {
      const narrowed = matchResources(binding.matchResources, attributes, store, servedVersions);
      if (narrowed === undefined) return [];
      if ('error' in narrowed) return onError(narrowed.error);
    }
    const params = paramsFor(policy, binding, context.namespace, store);
    if ('error' in params) return onError(params.error);

    const shared = context.variables(matched.invocation);
    const decisions: Decision[] = [];
    for (const param of params.params) {
      const bound = { ...shared, params: toCelValue(param) };
      const conditions = evaluateBoundMatchConditions(policy.matchConditions, bound, policy.failurePolicy);
      if (conditions.kind === 'skip') continue;
      if (conditions.kind === 'error') {
        decisions.push({ message: conditions.message, reason: 'Invalid' });
        continue;
      }
      const scope = compositedVariables(policy.variables, bound);
      for (const validation of policy.validations) {
        const outcome = evaluateCel(validation.expression, scope);
        if (outcome.ok && outcome.value === true) continue;
        if (!outcome.ok || outcome.value !== false) {
          const why = outcome.ok ? 'validation failed due to an unexpected result type' : outcome.error;
          decisions.push(...onError(`expression '${validation.expression}' resulted in error: ${why}`));
          continue;
        }
        decisions.push({ message: messageOf(validation, scope), reason: validation.reason });
      }
    }
    return decisions;
  }

  /**
   * What every binding of one request shares: the served versions and namespace it is matched with, and its
   * CEL variables (object, oldObject, request, namespaceObject), converted once per version a policy sees
   * it in, and only once a binding matches.
   */
  function requestContext(attributes: AdmissionAttributes): RequestContext {
    const namespace = requestNamespaceOf(attributes);
    const uid = randomUUID();
    const byVersion = new Map<string, Record<string, unknown>>();
    let namespaceObject: unknown;
    return {
      attributes,
      namespace,
      servedVersions: store
        .resourceTypes()
        .filter((t) => t.group === attributes.type.group && t.plural === attributes.type.plural),
      variables(invocation) {
        let variables = byVersion.get(invocation.type.version);
        if (variables === undefined) {
          const request = buildAdmissionRequest({
            uid,
            attributes,
            invocation,
            object: attributes.object,
            requestNamespace: namespace,
          });
          namespaceObject ??= toCelValue(
            namespace === '' ? null : (store.get(store.resourceType('', 'namespaces')!, undefined, namespace) ?? null),
          );
          variables = {
            object: toCelValue(request.object),
            oldObject: toCelValue(request.oldObject),
            request: toCelValue(celRequestOf(request)),
            namespaceObject,
          };
          byVersion.set(invocation.type.version, variables);
        }
        return variables;
      },
    };
  }

  function validate(attributes: AdmissionAttributes): string[] {
    if (isExemptFromWebhooks(attributes.type)) return [];
    const { policies, bindings } = readPolicyConfiguration(store);
    if (bindings.length === 0) return [];
    const context = requestContext(attributes);
    const warnings: string[] = [];
    let denial: StatusError | undefined;
    for (const binding of bindings) {
      const policy = policies.get(binding.policyName)!;
      for (const decision of decide(policy, binding, context)) {
        const fields = {
          policy: policy.name,
          binding: binding.name,
          operation: attributes.operation,
          resource: attributes.type.plural + (attributes.subresource === undefined ? '' : `/${attributes.subresource}`),
          namespace: attributes.namespace,
          name: attributes.name,
          user: attributes.userInfo.username,
          message: decision.message,
        };
        if (binding.validationActions.includes('Deny')) {
          denial ??= policyDenied(attributes, policy, binding, decision);
          log?.info({ ...fields, action: 'Deny' }, 'validating admission policy denied the request');
        }
        if (binding.validationActions.includes('Warn'))
          warnings.push(
            `Validation failed for ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}': ${decision.message}`,
          );
        if (binding.validationActions.includes('Audit'))
          log?.info({ ...fields, action: 'Audit' }, 'validating admission policy failed (audit)');
      }
    }
    if (denial !== undefined) throw warnings.length > 0 ? new AdmissionRefusal(denial.status, warnings) : denial;
    return warnings;
  }

  return { validate };
}

/** messageExpression when it gives a usable string, else message, else the expression itself. */
function messageOf(validation: ValidatingPolicy['validations'][number], scope: Record<string, unknown>): string {
  if (validation.messageExpression !== '') {
    const outcome = evaluateCel(validation.messageExpression, scope);
    if (outcome.ok && typeof outcome.value === 'string') {
      const message = outcome.value.trim();
      if (message !== '' && !/[\r\n]/.test(message)) return outcome.value;
    }
  }
  return validation.message !== '' ? validation.message : `failed expression: ${validation.expression.trim()}`;
}
