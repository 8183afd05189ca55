/**
 * metav1.LabelSelector as webhooks, admission policies and EIPPolicies use it: matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist) all ANDed; NotIn and DoesNotExist also match when the
 * key is absent. A selector that cannot be parsed is an error, which kube-apiserver answers with 500
 * rather than guessing.
 */
export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** The matcher, or the reason (worded as apimachinery words it) the selector is not valid. */
export function compileLabelSelector(selector: LabelSelector): LabelMatcher | { error: string } {
  const checks: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    checks.push((labels) => labels?.[key] === value);
  for (const requirement of selector.matchExpressions ?? []) {
    const { key, operator } = requirement;
    const values = requirement.values ?? [];
    const has = (labels: Record<string, string> | undefined): boolean =>
      labels !== undefined && Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          return { error: `values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty` };
        checks.push(
          operator === 'In' ? (l) => has(l) && values.includes(l![key]!) : (l) => !has(l) || !values.includes(l![key]!),
        );
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          return {
            error: `values: Invalid value: ${JSON.stringify(values)}: values set must be empty for exists and does not exist`,
          };
        checks.push(operator === 'Exists' ? has : (l) => !has(l));
        break;
      default:
        return { error: `${JSON.stringify(operator)} is not a valid label selector operator` };
    }
  }
  return (labels) => checks.every((check) => check(labels));
}
