/**
 * The JSONPath subset CRD additionalPrinterColumns use: `.a.b`, `.a[0]`, `.a[*].b` and filters such as
 * `.status.conditions[?(@.type=="Ready")].status`.
 */
import { isRecord } from '../../api/is-record.js';

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

function parse(path: string): Step[] {
  const steps: Step[] = [];
  const text = path
    .trim()
    .replace(/^\{|\}$/g, '')
    .replace(/^\$/, '');
  const pattern =
    /\.([A-Za-z0-9_\-/]+)|\[(\d+)\]|\[\*\]|\[\?\(@((?:\.[A-Za-z0-9_\-/]+)+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    if (match[1] !== undefined) steps.push({ field: match[1] });
    else if (match[2] !== undefined) steps.push({ index: Number(match[2]) });
    else if (match[3] !== undefined)
      steps.push({ filter: { path: match[3].slice(1).split('.'), value: match[4] ?? '' } });
    else if (match[5] !== undefined) steps.push({ field: match[5] });
    else steps.push({ all: true });
  }
  return steps;
}

function walk(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

export function evaluateJsonPath(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isRecord(value) && value[step.field] !== undefined) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...value);
      } else if (Array.isArray(value)) {
        next.push(...value.filter((item) => String(walk(item, step.filter.path)) === step.filter.value));
      }
    }
    current = next;
  }
  return current;
}
