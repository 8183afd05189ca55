/**
 * What kube-apiserver checks and defaults when a ValidatingAdmissionPolicy or its binding is written: the
 * v1 defaults (failurePolicy Fail, matchPolicy Equivalent, empty selectors, scope `*`,
 * parameterNotFoundAction Deny), required fields, and every CEL expression compiled (a compile error is
 * refused at write time, as on a real server; type checking is not done).
 */
import { isRecord } from '../../../api/is-record.js';
import { causes, type FieldCause } from '../errors.js';
import { DEFAULT_RULES, deepEqual, type TypeRules } from '../type-rules.js';
import { compileProblem } from './cel.js';
import type { KubeObject } from '../types.js';
import { records } from './webhook-configuration.js';

type Json = Record<string, unknown>;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REASONS = ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'];
const ACTIONS = ['Deny', 'Warn', 'Audit'];

function defaultMatchResources(match: Json): void {
  match.namespaceSelector ??= {};
  match.objectSelector ??= {};
  match.matchPolicy ??= 'Equivalent';
  for (const rule of [...records(match.resourceRules), ...records(match.excludeResourceRules)]) rule.scope ??= '*';
}

function checkExpression(problems: FieldCause[], field: string, expression: unknown, required = true): void {
  if (typeof expression !== 'string' || expression.trim() === '') {
    if (required) problems.push(causes.required(field));
    return;
  }
  const problem = compileProblem(expression);
  if (problem !== undefined) problems.push(causes.invalid(field, expression, problem));
}

function spec(object: KubeObject): Json {
  return isRecord(object.spec) ? object.spec : {};
}

export const validatingAdmissionPolicyRules: TypeRules = {
  ...DEFAULT_RULES,
  tracksGeneration: true,
  specChanged: (object, old) => !deepEqual(object.spec, old.spec),
  applyDefaults(object) {
    const policy = spec(object);
    policy.failurePolicy ??= 'Fail';
    if (isRecord(policy.matchConstraints)) defaultMatchResources(policy.matchConstraints);
    object.spec = policy;
  },
  validate(object) {
    const problems: FieldCause[] = [];
    const policy = spec(object);
    if (!['Fail', 'Ignore'].includes(String(policy.failurePolicy)))
      problems.push(causes.notSupported('spec.failurePolicy', policy.failurePolicy, ['Fail', 'Ignore']));
    const match = isRecord(policy.matchConstraints) ? policy.matchConstraints : undefined;
    if (match === undefined || records(match.resourceRules).length === 0)
      problems.push(causes.required('spec.matchConstraints.resourceRules'));
    const validations = records(policy.validations);
    if (validations.length === 0 && records(policy.auditAnnotations).length === 0)
      problems.push(
        causes.required('spec.validations', 'validations or auditAnnotations must contain at least one item'),
      );
    validations.forEach((validation, i) => {
      checkExpression(problems, `spec.validations[${i}].expression`, validation.expression);
      checkExpression(problems, `spec.validations[${i}].messageExpression`, validation.messageExpression, false);
      if (typeof validation.message === 'string' && /[\r\n]/.test(validation.message))
        problems.push(
          causes.invalid(`spec.validations[${i}].message`, validation.message, 'message must not contain line breaks'),
        );
      if (validation.reason !== undefined && !REASONS.includes(String(validation.reason)))
        problems.push(causes.notSupported(`spec.validations[${i}].reason`, validation.reason, REASONS));
    });
    const names = new Set<string>();
    records(policy.variables).forEach((variable, i) => {
      const name = String(variable.name ?? '');
      if (!VARIABLE_NAME.test(name))
        problems.push(causes.invalid(`spec.variables[${i}].name`, name, 'name is not a valid CEL identifier'));
      if (names.has(name)) problems.push(causes.duplicate(`spec.variables[${i}].name`, name));
      names.add(name);
      checkExpression(problems, `spec.variables[${i}].expression`, variable.expression);
    });
    records(policy.matchConditions).forEach((condition, i) =>
      checkExpression(problems, `spec.matchConditions[${i}].expression`, condition.expression),
    );
    return problems;
  },
};

export const validatingAdmissionPolicyBindingRules: TypeRules = {
  ...DEFAULT_RULES,
  tracksGeneration: true,
  specChanged: (object, old) => !deepEqual(object.spec, old.spec),
  applyDefaults(object) {
    const binding = spec(object);
    if (isRecord(binding.matchResources)) defaultMatchResources(binding.matchResources);
    if (isRecord(binding.paramRef)) binding.paramRef.parameterNotFoundAction ??= 'Deny';
    object.spec = binding;
  },
  validate(object) {
    const problems: FieldCause[] = [];
    const binding = spec(object);
    if (typeof binding.policyName !== 'string' || binding.policyName === '')
      problems.push(causes.required('spec.policyName'));
    const actions = Array.isArray(binding.validationActions) ? binding.validationActions.map(String) : [];
    if (actions.length === 0) problems.push(causes.required('spec.validationActions'));
    actions.forEach((action, i) => {
      if (!ACTIONS.includes(action))
        problems.push(causes.notSupported(`spec.validationActions[${i}]`, action, ACTIONS));
      else if (actions.indexOf(action) !== i) problems.push(causes.duplicate(`spec.validationActions[${i}]`, action));
    });
    if (actions.includes('Deny') && actions.includes('Warn'))
      problems.push(causes.invalid('spec.validationActions', actions, 'Deny and Warn may not be used together'));
    return problems;
  },
};
