/**
 * What the apiextensions server does with a CRD's structural openAPIV3Schema: prune unknown fields,
 * apply `default`s, and validate types, `required` and `enum`, reporting every problem at once as the
 * real 422 does (`spec.x: Required value`).
 */
import { isRecord } from '../../api/is-record.js';
import { causes, type FieldCause } from './errors.js';

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
}

/** Metadata fields the server keeps for every object; the schema may not prune them. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Removes fields the schema does not know; returns their paths (`spec.foo`) for fieldValidation. */
export function pruneUnknownFields(value: unknown, schema: JsonSchema | undefined, path = '', root = true): string[] {
  if (
    schema === undefined ||
    (schema['x-kubernetes-preserve-unknown-fields'] === true && schema.properties === undefined)
  )
    return [];
  const pruned: string[] = [];
  if (isRecord(value)) {
    if (root) {
      for (const key of Object.keys(value)) {
        if (ROOT_FIELDS.has(key)) continue;
        const child = schema.properties?.[key];
        if (child === undefined) {
          if (schema['x-kubernetes-preserve-unknown-fields'] !== true) {
            delete value[key];
            pruned.push(key);
          }
        } else pruned.push(...pruneUnknownFields(value[key], child, key, false));
      }
      return pruned;
    }
    if (schema.properties !== undefined) {
      for (const key of Object.keys(value)) {
        const child = schema.properties[key];
        const childPath = `${path}.${key}`;
        if (child === undefined) {
          if (schema['x-kubernetes-preserve-unknown-fields'] !== true) {
            delete value[key];
            pruned.push(childPath);
          }
        } else pruned.push(...pruneUnknownFields(value[key], child, childPath, false));
      }
    } else if (isRecord(schema.additionalProperties)) {
      for (const key of Object.keys(value))
        pruned.push(...pruneUnknownFields(value[key], schema.additionalProperties, `${path}.${key}`, false));
    } else if (
      schema.additionalProperties !== true &&
      schema['x-kubernetes-preserve-unknown-fields'] !== true &&
      schema.type === 'object' &&
      !schema['x-kubernetes-embedded-resource']
    ) {
      for (const key of Object.keys(value)) {
        delete value[key];
        pruned.push(`${path}.${key}`);
      }
    }
  } else if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => pruned.push(...pruneUnknownFields(item, schema.items, `${path}[${i}]`, false)));
  }
  return pruned;
}

/** Fills `default`s top-down: a defaulted object gets its own properties' defaults too. */
export function applySchemaDefaults(value: unknown, schema: JsonSchema | undefined): void {
  if (schema === undefined) return;
  if (isRecord(value) && schema.properties !== undefined) {
    for (const [key, child] of Object.entries(schema.properties)) {
      if (value[key] === undefined && child.default !== undefined) value[key] = structuredClone(child.default);
      applySchemaDefaults(value[key], child);
    }
  } else if (isRecord(value) && isRecord(schema.additionalProperties)) {
    for (const key of Object.keys(value)) applySchemaDefaults(value[key], schema.additionalProperties as JsonSchema);
  } else if (Array.isArray(value) && schema.items !== undefined) {
    for (const item of value) applySchemaDefaults(item, schema.items);
  }
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, schema: JsonSchema): boolean {
  if (schema['x-kubernetes-int-or-string'] === true) return typeof value === 'string' || Number.isInteger(value);
  if (schema.type === undefined) return true;
  const actual = typeOfValue(value);
  if (schema.type === 'number') return actual === 'number' || actual === 'integer';
  return actual === schema.type;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function validateAgainstSchema(value: unknown, schema: JsonSchema | undefined, path: string): FieldCause[] {
  if (schema === undefined) return [];
  if (value === null)
    return schema.nullable === true || schema.type === undefined
      ? []
      : [causes.invalid(path, 'null', `${path} in body must be of type ${schema.type}: "null"`)];
  if (!matchesType(value, schema)) {
    return [
      causes.typeInvalid(
        path,
        typeOfValue(value),
        `${path} in body must be of type ${schema.type}: "${typeOfValue(value)}"`,
      ),
    ];
  }
  const problems: FieldCause[] = [];
  if (schema.enum !== undefined && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    problems.push(
      causes.notSupported(
        path,
        value,
        schema.enum.map((e) => String(e)),
      ),
    );
  }
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      problems.push(causes.invalid(path, value, `may not be more than ${schema.maxLength} bytes`));
    if (schema.minLength !== undefined && value.length < schema.minLength)
      problems.push(causes.invalid(path, value, `${path} in body should be at least ${schema.minLength} chars long`));
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      problems.push(causes.invalid(path, value, `${path} in body should match '${schema.pattern}'`));
    if (schema.format === 'date-time' && !DATE_TIME.test(value))
      problems.push(causes.invalid(path, value, `${path} in body must be of type date-time: "${value}"`));
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push(
        causes.invalid(path, value, `${path} in body should be greater than or equal to ${schema.minimum}`),
      );
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push(causes.invalid(path, value, `${path} in body should be less than or equal to ${schema.maximum}`));
  }
  if (isRecord(value)) {
    for (const required of schema.required ?? []) {
      if (value[required] === undefined) problems.push(causes.required(path === '' ? required : `${path}.${required}`));
    }
    for (const [key, child] of Object.entries(value)) {
      const childSchema =
        schema.properties?.[key] ??
        (isRecord(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined);
      if (path === '' && ROOT_FIELDS.has(key)) continue;
      problems.push(...validateAgainstSchema(child, childSchema, path === '' ? key : `${path}.${key}`));
    }
  }
  if (Array.isArray(value))
    value.forEach((item, i) => problems.push(...validateAgainstSchema(item, schema.items, `${path}[${i}]`)));
  return problems;
}
