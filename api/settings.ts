/**
 * What every program's settings share, as data and pure checks: the listen and log sections of their
 * schemas, the table that maps a setting onto a flag and an environment variable, and the validation
 * that reports every problem at once with its path. Reading files, the environment and flags is the
 * CLI's job (cli/config.ts); the programs only describe and check.
 */
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';

/** An empty object as the default of a nested section: ajv then fills it from the section's own defaults. */
export const FILLED_FROM_NESTED_DEFAULTS = {} as never;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logSection: JSONSchemaType<{ level: LogLevel }> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: ['level'],
  properties: { level: { type: 'string', enum: [...LOG_LEVELS], default: 'info' } },
};

/** `{host, port}` with the program's own default port. */
export function listenSection(defaultPort: number): JSONSchemaType<{ host: string; port: number }> {
  return {
    type: 'object',
    additionalProperties: false,
    default: FILLED_FROM_NESTED_DEFAULTS,
    required: ['host', 'port'],
    properties: {
      host: { type: 'string', minLength: 1, default: '0.0.0.0' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: defaultPort },
    },
  };
}

/** Where one setting may come from besides the file: a flag and/or an environment variable. */
export interface SettingSource {
  /** Dotted path in the settings object, e.g. `listen.port`. */
  path: string;
  flag?: string;
  env?: string;
  /** Help text shown by `--help`. */
  description: string;
  /** The flag and environment value is a comma list, set as an array of its distinct non-empty items. */
  list?: boolean;
  /** Given by a flag or variable, it also sets `path` to `value` unless the same level sets that path too. */
  implies?: { path: string; value: string };
}

export type ConfigResult<T> = { ok: true; config: T } | { ok: false; problems: string[] };

/** For each dotted path set from a flag or the environment, which one (`--port`, `environment PODEIP_PORT`). */
export type SourceOf = ReadonlyMap<string, string>;

/**
 * The validator the programs use: `coerceTypes` turns "9443" from a flag or environment variable into
 * 9443, `useDefaults` fills what nobody set, `allErrors` lets one run list every problem.
 */
export function compileSettingsSchema<T>(schema: JSONSchemaType<T>): ValidateFunction<T> {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: true, verbose: true });
  return ajv.compile(schema);
}

/** What one validation found: the settings with defaults filled (even where something failed) and its errors. */
export interface SchemaCheck {
  settings: unknown;
  errors: readonly ErrorObject[];
  problems: string[];
}

/** Validates `raw` in place (defaults and coercions land in it) and describes each error with its path. */
export function checkAgainstSchema<T>(validate: ValidateFunction<T>, raw: unknown, sourceOf: SourceOf): SchemaCheck {
  if (validate(raw)) return { settings: raw, errors: [], problems: [] };
  const errors = validate.errors ?? [];
  const problems = [...new Set(errors.map((e) => describeSchemaError(e, sourceOf)))];
  return { settings: raw, errors, problems };
}

/** `checkAgainstSchema` for a program with no rules beyond its schema. */
export function validateSettings<T>(
  validate: ValidateFunction<T>,
  raw: unknown,
  sourceOf: SourceOf = new Map(),
): ConfigResult<T> {
  const check = checkAgainstSchema(validate, raw, sourceOf);
  return check.problems.length === 0
    ? { ok: true, config: check.settings as T }
    : { ok: false, problems: check.problems };
}

/** `/listen/port` → `listen.port`, `/a/0/b` → `a[0].b`. */
export function dottedPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

/** The source of `path` or of the nearest setting that holds it (`namespaces[1]` came with `namespaces`). */
function sourceFor(path: string, sourceOf: SourceOf): string | undefined {
  for (let p = path; p !== ''; p = p.replace(/(\[\d+\]|\.?[^.[]+)$/, '')) {
    const source = sourceOf.get(p);
    if (source !== undefined) return source;
  }
  return undefined;
}

function describeSchemaError(e: ErrorObject, sourceOf: SourceOf): string {
  let path = dottedPath(e.instancePath);
  let message = e.message ?? 'is not valid';
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    path = path === '' ? String(params.missingProperty) : `${path}.${String(params.missingProperty)}`;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    path = path === '' ? String(params.additionalProperty) : `${path}.${String(params.additionalProperty)}`;
    message = 'is not a known setting';
  } else if (e.keyword === 'pattern' && typeof e.parentSchema?.description === 'string') {
    message = `must be ${e.parentSchema.description}`;
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const source = sourceFor(path, sourceOf);
  return `${path === '' ? '(root)' : path}: ${message}${source === undefined ? '' : ` (from ${source})`}`;
}
