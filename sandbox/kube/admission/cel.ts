/**
 * CEL as kube-apiserver's admission uses it, on @marcbachmann/cel-js: expressions compiled once and kept,
 * JSON values turned into CEL values, and an evaluation's outcome as a value or the error's first line.
 */
import { parse } from '@marcbachmann/cel-js';

type Program = (variables: Record<string, unknown>) => unknown;
type CompiledExpression = Program | { compileError: string };

const compiled = new Map<string, CompiledExpression>();
const MAX_CACHED_EXPRESSIONS = 1000;

function compile(expression: string): CompiledExpression {
  let entry = compiled.get(expression);
  if (entry === undefined) {
    try {
      entry = parse(expression) as Program;
    } catch (error) {
      entry = { compileError: `compilation failed: ${firstLine(error)}` };
    }
    if (compiled.size >= MAX_CACHED_EXPRESSIONS) compiled.clear();
    compiled.set(expression, entry);
  }
  return entry;
}

/** Why the expression does not compile, or undefined if it does. */
export function compileProblem(expression: string): string | undefined {
  const entry = compile(expression);
  return typeof entry === 'function' ? undefined : entry.compileError;
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

export type CelOutcome = { ok: true; value: unknown } | { ok: false; error: string };

/** Evaluates with variables already in CEL form (toCelValue); a compile or runtime error is returned, never thrown. */
export function evaluateCel(expression: string, variables: Record<string, unknown>): CelOutcome {
  const program = compile(expression);
  if (typeof program !== 'function') return { ok: false, error: program.compileError };
  try {
    return { ok: true, value: program(variables) };
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
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
