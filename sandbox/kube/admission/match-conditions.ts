/**
 * A webhook's matchConditions, in CEL, with the variables kube-apiserver binds for webhooks: `object`,
 * `oldObject` (null when absent) and `request` (the AdmissionRequest without uid and objects). The
 * `authorizer` variable is not bound, so an expression using it fails to evaluate. Any false condition
 * skips the webhook, whatever errors the others raise; otherwise errors follow failurePolicy.
 */
import { evaluateCel, toCelValue } from './cel.js';
import type { MatchCondition } from './webhook-configuration.js';

export type MatchConditionsOutcome =
  { kind: 'match' } | { kind: 'skip'; condition?: string } | { kind: 'error'; message: string };

export interface MatchConditionVariables {
  object: unknown;
  oldObject: unknown;
  request: unknown;
}

export function evaluateMatchConditions(
  conditions: MatchCondition[],
  variables: MatchConditionVariables,
  failurePolicy: 'Fail' | 'Ignore',
): MatchConditionsOutcome {
  if (conditions.length === 0) return { kind: 'match' };
  const bound = {
    object: toCelValue(variables.object ?? null),
    oldObject: toCelValue(variables.oldObject ?? null),
    request: toCelValue(variables.request),
  };
  return evaluateBoundMatchConditions(conditions, bound, failurePolicy);
}

/** The same with the variables already in CEL form (toCelValue): policies bind them once for all their expressions. */
export function evaluateBoundMatchConditions(
  conditions: MatchCondition[],
  bound: Record<string, unknown>,
  failurePolicy: 'Fail' | 'Ignore',
): MatchConditionsOutcome {
  const errors: string[] = [];
  for (const condition of conditions) {
    const outcome = evaluateCel(condition.expression, bound);
    if (!outcome.ok) {
      errors.push(`expression '${condition.expression}' resulted in error: ${outcome.error}`);
      continue;
    }
    const result = outcome.value;
    if (result === false) return { kind: 'skip', condition: condition.name };
    if (result !== true) errors.push(`expression '${condition.expression}' resulted in error: must evaluate to bool`);
  }
  if (errors.length === 0) return { kind: 'match' };
  if (failurePolicy === 'Ignore') return { kind: 'skip' };
  return { kind: 'error', message: errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]` };
}
