/**
 * The registry strategy of RBAC objects, as far as the authorizer relies on it: a binding's roleRef names
 * a Role or ClusterRole of rbac.authorization.k8s.io (a ClusterRoleBinding only a ClusterRole) and never
 * changes afterwards; every rule has verbs, and resource rules name API groups and resources.
 */
import { isRecord } from '../../../api/is-record.js';
import { causes, type FieldCause } from '../errors.js';
import { DEFAULT_RULES, deepEqual, type TypeRules } from '../type-rules.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function validateRules(rules: unknown, field = 'rules'): FieldCause[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [causes.invalid(field, rules, 'must be a list')];
  return rules.flatMap((rule, i): FieldCause[] => {
    const at = `${field}[${i}]`;
    if (!isRecord(rule)) return [causes.invalid(at, rule, 'must be an object')];
    const problems: FieldCause[] = [];
    const listed = (key: string): boolean => Array.isArray(rule[key]) && (rule[key] as unknown[]).length > 0;
    if (!listed('verbs')) problems.push(causes.required(`${at}.verbs`, 'verbs must contain at least one value'));
    if (listed('nonResourceURLs')) {
      if (listed('resources') || listed('apiGroups'))
        problems.push(
          causes.invalid(
            `${at}.nonResourceURLs`,
            rule.nonResourceURLs,
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        );
    } else {
      if (!listed('apiGroups'))
        problems.push(causes.required(`${at}.apiGroups`, 'resource rules must supply at least one api group'));
      if (!listed('resources'))
        problems.push(causes.required(`${at}.resources`, 'resource rules must supply at least one resource'));
    }
    return problems;
  });
}

// RBAC names are path segments (system:discovery), not DNS subdomains.
export const roleRules: TypeRules = {
  ...DEFAULT_RULES,
  nameRule: 'pathSegment',
  validate: (object) => validateRules(object.rules),
  validateUpdate: (object) => validateRules(object.rules),
};

export function bindingRules(cluster: boolean): TypeRules {
  const validate = (object: Record<string, unknown>): FieldCause[] => {
    const ref = isRecord(object.roleRef) ? object.roleRef : undefined;
    if (ref === undefined) return [causes.required('roleRef', '')];
    const problems: FieldCause[] = [];
    if (ref.apiGroup !== RBAC_GROUP) problems.push(causes.notSupported('roleRef.apiGroup', ref.apiGroup, [RBAC_GROUP]));
    const kinds = cluster ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (typeof ref.kind !== 'string' || !kinds.includes(ref.kind))
      problems.push(causes.notSupported('roleRef.kind', ref.kind, kinds));
    if (typeof ref.name !== 'string' || ref.name === '') problems.push(causes.required('roleRef.name', ''));
    const subjects = Array.isArray(object.subjects) ? object.subjects : [];
    subjects.forEach((subject, i) => {
      if (!isRecord(subject) || !['User', 'Group', 'ServiceAccount'].includes(String(subject.kind)))
        problems.push(
          causes.notSupported(`subjects[${i}].kind`, isRecord(subject) ? subject.kind : subject, [
            'Group',
            'ServiceAccount',
            'User',
          ]),
        );
      else if (typeof subject.name !== 'string' || subject.name === '')
        problems.push(causes.required(`subjects[${i}].name`, ''));
      else if (cluster && subject.kind === 'ServiceAccount' && !subject.namespace)
        problems.push(causes.required(`subjects[${i}].namespace`, ''));
    });
    return problems;
  };
  return {
    ...DEFAULT_RULES,
    nameRule: 'pathSegment',
    validate,
    validateUpdate(object, old) {
      const problems = validate(object);
      if (!deepEqual(object.roleRef, old.roleRef))
        problems.push(causes.invalid('roleRef', object.roleRef, 'cannot change roleRef'));
      return problems;
    },
  };
}
