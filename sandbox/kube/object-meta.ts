/**
 * ObjectMeta rules every resource shares: name formats, label syntax, the system fields the server owns,
 * and the timestamp formats (RFC 3339 to the second; MicroTime to the microsecond).
 */
import { randomInt } from 'node:crypto';
import { causes, type FieldCause } from './errors.js';
import type { KubeObject, ObjectMeta } from './types.js';

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'pathSegment';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

export function validateName(name: string, rule: NameRule, field = 'metadata.name'): FieldCause[] {
  switch (rule) {
    case 'subdomain':
      if (name.length > 253) return [causes.invalid(field, name, 'must be no more than 253 characters')];
      return SUBDOMAIN.test(name) ? [] : [causes.invalid(field, name, SUBDOMAIN_MESSAGE)];
    case 'label':
      if (name.length > 63) return [causes.invalid(field, name, 'must be no more than 63 characters')];
      return LABEL.test(name) ? [] : [causes.invalid(field, name, LABEL_MESSAGE)];
    case 'dns1035':
      if (name.length > 63) return [causes.invalid(field, name, 'must be no more than 63 characters')];
      return DNS1035.test(name) ? [] : [causes.invalid(field, name, DNS1035_MESSAGE)];
    case 'pathSegment':
      if (name === '.' || name === '..') return [causes.invalid(field, name, `may not be '${name}'`)];
      return name.includes('/') || name.includes('%')
        ? [causes.invalid(field, name, `may not contain '${name.includes('/') ? '/' : '%'}'`)]
        : [];
  }
}

/** A label key or annotation key: an optional DNS-subdomain prefix and a qualified name. */
export function validateQualifiedName(key: string, field: string): FieldCause[] {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const problems: FieldCause[] = [];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !SUBDOMAIN.test(prefix))) {
    problems.push(causes.invalid(field, key, `prefix part ${SUBDOMAIN_MESSAGE}`));
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    problems.push(causes.invalid(field, key, QUALIFIED_NAME_MESSAGE));
  return problems;
}

export function validateObjectMeta(meta: ObjectMeta, rule: NameRule): FieldCause[] {
  const problems: FieldCause[] = [];
  if (meta.name === undefined || meta.name === '')
    problems.push(causes.required('metadata.name', 'name or generateName is required'));
  else problems.push(...validateName(meta.name, rule));
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    problems.push(...validateQualifiedName(key, 'metadata.labels'));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value))
      problems.push(causes.invalid('metadata.labels', value, LABEL_VALUE_MESSAGE));
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    for (const p of validateQualifiedName(key.toLowerCase(), 'metadata.annotations')) problems.push(p);
  }
  const seen = new Set<string>();
  for (const [i, finalizer] of (meta.finalizers ?? []).entries()) {
    if (seen.has(finalizer)) problems.push(causes.duplicate(`metadata.finalizers[${i}]`, finalizer));
    seen.add(finalizer);
  }
  return problems;
}

/** ValidateObjectMetaUpdate: identity is fixed, and a deleting object may lose finalizers but never gain one. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldCause[] {
  const problems: FieldCause[] = [];
  if (meta.name !== old.name) problems.push(causes.invalid('metadata.name', meta.name, 'field is immutable'));
  if (meta.namespace !== old.namespace)
    problems.push(causes.invalid('metadata.namespace', meta.namespace, 'field is immutable'));
  if (meta.uid !== old.uid) problems.push(causes.invalid('metadata.uid', meta.uid, 'field is immutable'));
  if (old.deletionTimestamp !== undefined) {
    const previous = new Set(old.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !previous.has(f));
    if (added.length > 0) {
      problems.push(
        causes.forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
        ),
      );
    }
  }
  return problems;
}

/** rest.BeforeUpdate: an update cannot set identity, creation, generation or deletion fields itself. */
export function keepServerOwnedMetadata(meta: ObjectMeta, old: ObjectMeta): void {
  if (meta.uid === undefined || meta.uid === '') meta.uid = old.uid;
  meta.creationTimestamp = old.creationTimestamp;
  for (const field of ['generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (old[field] === undefined) delete meta[field];
    else meta[field] = old[field] as never;
  }
  delete meta.managedFields;
}

/** RFC 3339 to the second, as metav1.Time marshals. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's time.Parse with the MicroTime layout accepts exactly six fractional digits and an offset or Z. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** The fragment Go's time.Parse names in its error for a string that does not fit the MicroTime layout. */
export function microTimeParseError(value: string): string | undefined {
  if (MICRO_TIME.test(value)) return undefined;
  const layout = '2006-01-02T15:04:05.000000Z07:00';
  const head = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(value);
  if (head === null)
    return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(value)} as "2006"`;
  const rest = value.slice(head[0].length);
  const fraction = /^\.\d{6}/.exec(rest);
  if (fraction === null)
    return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ".000000"`;
  return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest.slice(fraction[0].length))} as "Z07:00"`;
}

/** The alphabet apimachinery's utilrand.String draws from: no vowels, no look-alike digits. */
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  let suffix = '';
  for (let i = 0; i < length; i++) suffix += NAME_SUFFIX_ALPHABET[randomInt(NAME_SUFFIX_ALPHABET.length)];
  return suffix;
}

/** generateName is cut so the result still fits a 63-character name, as names.SimpleNameGenerator does. */
export function nameFromGenerateName(generateName: string): string {
  const base = generateName.length > 58 ? generateName.slice(0, 58) : generateName;
  return base + randomSuffix();
}

export function metaOf(object: KubeObject): ObjectMeta {
  if (object.metadata === undefined || object.metadata === null || typeof object.metadata !== 'object')
    object.metadata = {};
  return object.metadata;
}
