/**
 * A webhook's matchConditions, in CEL, with the variables kube-apiserver binds for webhooks: `object`,
 * `oldObject` (null when absent) and `request` (the AdmissionRequest without uid and objects). The
 * `authorizer` variable is not bound, so an expression using it fails to evaluate. Any false condition
 * skips the webhook, whatever errors the others raise; otherwise errors follow failurePolicy.
 */
import { parse } from '@marcbachmann/cel-js';
import type { MatchCondition } from './webhook-configuration.js';

export type MatchConditionsOutcome =
  { kind: 'match' } | { kind: 'skip'; condition?: string } | { kind: 'error'; message: string };

export interface MatchConditionVariables {
  object: unknown;
  oldObject: unknown;
  request: unknown;
}

type CompiledExpression = ((variables: Record<string, unknown>) => unknown) | { compileError: string };

const compiled = new Map<string, CompiledExpression>();
const MAX_CACHED_EXPRESSIONS = 1000;

function compile(expression: string): CompiledExpression {
  let entry = compiled.get(expression);
  if (entry === undefined) {
    try {
      entry = parse(expression) as (variables: Record<string, unknown>) => unknown;
    } catch (error) {
      // kube-apiserver refuses such an expression when the configuration is written; the stand-in's store does not.
      entry = { compileError: `compilation failed: ${firstLine(error)}` };
    }
    if (compiled.size >= MAX_CACHED_EXPRESSIONS) compiled.clear();
    compiled.set(expression, entry);
  }
  return entry;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * JSON integers are CEL ints (int64) on a real server; left as JS numbers they would be doubles. Arrays
 * and objects are rebuilt in this module's realm: structuredClone makes them in the main one, which the
 * evaluator's type checks do not recognise under a vm context (Jest).
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return Array.from(value, toCelValue);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCelValue(v)]));
  return value;
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
  const errors: string[] = [];
  for (const condition of conditions) {
    const expression = compile(condition.expression);
    let result: unknown;
    try {
      if (typeof expression !== 'function') throw new Error(expression.compileError);
      result = expression(bound);
    } catch (error) {
      errors.push(`expression '${condition.expression}' resulted in error: ${firstLine(error)}`);
      continue;
    }
    if (result === false) return { kind: 'skip', condition: condition.name };
    if (result !== true) errors.push(`expression '${condition.expression}' resulted in error: must evaluate to bool`);
  }
  if (errors.length === 0) return { kind: 'match' };
  if (failurePolicy === 'Ignore') return { kind: 'skip' };
  return { kind: 'error', message: errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]` };
}
