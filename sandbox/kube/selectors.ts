/**
 * Label and field selectors with the grammar kube-apiserver accepts (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`; fields: `=`, `==`, `!=` on a per-resource set of fields). A bad selector is a
 * 400 BadRequest, as on the real server.
 */
import { badRequest } from './errors.js';
import type { KubeObject, ResourceType } from './types.js';

type LabelRequirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'notexists' };

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside a parenthesised value set. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function checkKey(key: string, selector: string): string {
  if (!LABEL_KEY.test(key) || key.length > 316)
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63)
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  return value;
}

function parseRequirement(part: string, selector: string): LabelRequirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (setMatch !== null) {
    const values = setMatch[3]!.split(',').map((v) => checkValue(v.trim(), selector));
    return { key: checkKey(setMatch[1]!, selector), op: setMatch[2] as 'in' | 'notin', values };
  }
  const eqMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (eqMatch !== null) {
    const value = checkValue(eqMatch[3]!.trim(), selector);
    return { key: checkKey(eqMatch[1]!, selector), op: eqMatch[2] === '!=' ? 'notin' : 'in', values: [value] };
  }
  if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), selector), op: 'notexists' };
  return { key: checkKey(part, selector), op: 'exists' };
}

export function parseLabelSelector(selector: string | undefined): LabelMatcher {
  if (selector === undefined || selector.trim() === '') return () => true;
  const requirements = splitTopLevel(selector).map((part) => {
    if (part === '')
      throw badRequest(`unable to parse requirement: found '', expected: identifier in selector "${selector}"`);
    return parseRequirement(part, selector);
  });
  return (labels) =>
    requirements.every((r) => {
      const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key]!);
        case 'notin':
          return !has || !r.values.includes(labels[r.key]!);
      }
    });
}

/** A LabelSelector object (`matchLabels` + `matchExpressions`), as workloads and webhooks carry them. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function matchesLabelSelectorObject(
  selector: LabelSelectorObject | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (selector === undefined) return true;
  const l = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (l[key] !== value) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(l[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(l[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

type FieldGetter = (object: KubeObject) => unknown;

function path(...keys: string[]): FieldGetter {
  return (object) => {
    let value: unknown = object;
    for (const key of keys) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
}

const COMMON_FIELDS: Record<string, FieldGetter> = {
  'metadata.name': path('metadata', 'name'),
  'metadata.namespace': path('metadata', 'namespace'),
};

/** The extra field labels each built-in resource supports (pkg/registry/<resource>/strategy.go ToSelectableFields). */
const EXTRA_FIELDS: Record<string, Record<string, FieldGetter>> = {
  '/pods': {
    'spec.nodeName': path('spec', 'nodeName'),
    'spec.restartPolicy': path('spec', 'restartPolicy'),
    'spec.schedulerName': path('spec', 'schedulerName'),
    'spec.serviceAccountName': path('spec', 'serviceAccountName'),
    'spec.hostNetwork': (o) => String(path('spec', 'hostNetwork')(o) === true),
    'status.phase': path('status', 'phase'),
    'status.podIP': path('status', 'podIP'),
    'status.nominatedNodeName': path('status', 'nominatedNodeName'),
  },
  '/events': {
    'involvedObject.kind': path('involvedObject', 'kind'),
    'involvedObject.namespace': path('involvedObject', 'namespace'),
    'involvedObject.name': path('involvedObject', 'name'),
    'involvedObject.uid': path('involvedObject', 'uid'),
    'involvedObject.apiVersion': path('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': path('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': path('involvedObject', 'fieldPath'),
    reason: path('reason'),
    reportingComponent: path('reportingComponent'),
    source: path('source', 'component'),
    type: path('type'),
  },
  '/secrets': { type: path('type') },
  '/namespaces': { 'status.phase': path('status', 'phase') },
  '/nodes': { 'spec.unschedulable': (o) => String(path('spec', 'unschedulable')(o) === true) },
  'apps/replicasets': { 'status.replicas': (o) => String(path('status', 'replicas')(o) ?? 0) },
};

export type FieldMatcher = (object: KubeObject) => boolean;

export function parseFieldSelector(
  type: Pick<ResourceType, 'group' | 'plural'>,
  selector: string | undefined,
): FieldMatcher {
  if (selector === undefined || selector.trim() === '') return () => true;
  const fields = { ...COMMON_FIELDS, ...(EXTRA_FIELDS[`${type.group}/${type.plural}`] ?? {}) };
  const terms = selector.split(',').map((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (m === null) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const getter = fields[m[1]!];
    if (getter === undefined) {
      const known = Object.keys(fields).map((f) => `"${f}"`);
      throw badRequest(
        type.group === '' || type.group.includes('.k8s.io') || type.group === 'apps'
          ? `field label not supported: ${m[1]}`
          : `"${m[1]}" is not a known field selector: only ${known.join(', ')}`,
      );
    }
    return { getter, negate: m[2] === '!=', value: m[3]! };
  });
  return (object) =>
    terms.every((t) => {
      const raw = t.getter(object);
      const actual = raw === undefined || raw === null ? '' : String(raw);
      return t.negate ? actual !== t.value : actual === t.value;
    });
}
