/**
 * One way for every program to build its configuration: schema defaults, then a config file (YAML or
 * JSON), then environment variables, then flags, validated once by the program's ajv schema. Every
 * problem is reported at once with its path and, for values from the environment or flags, their source.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv';
import { parse as parseYaml } from 'yaml';

/** Where one setting may come from besides the file: a flag and/or an environment variable. */
export interface SettingSource {
  /** Dotted path in the configuration object, e.g. `listen.port`. */
  path: string;
  flag?: string;
  env?: string;
  /** Help text shown by `--help`. */
  description: string;
}

export type ConfigResult<T> = { ok: true; config: T } | { ok: false; problems: string[] };

export interface LoadConfigInput<T> {
  schema: JSONSchemaType<T>;
  settings: readonly SettingSource[];
  /** Path of the config file, if one was named. */
  file?: string;
  /** Parsed flag values by flag name (strings as typed; booleans for switches). */
  flags: Readonly<Record<string, string | boolean | undefined>>;
  env: Readonly<Record<string, string | undefined>>;
}

export function loadConfig<T>(input: LoadConfigInput<T>): ConfigResult<T> {
  const problems: string[] = [];
  let fromFile: unknown = {};
  if (input.file !== undefined) {
    try {
      fromFile = parseYaml(readFileSync(input.file, 'utf8')) ?? {};
    } catch (err) {
      problems.push(`${input.file}: cannot read the config file: ${(err as Error).message.split('\n')[0]}`);
    }
    if (problems.length === 0 && (typeof fromFile !== 'object' || Array.isArray(fromFile))) {
      problems.push(`${input.file}: the config file must hold a mapping of settings`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const config = structuredClone(fromFile) as Record<string, unknown>;
  const sourceOf = new Map<string, string>();
  for (const s of input.settings) {
    const envValue = s.env === undefined ? undefined : input.env[s.env];
    if (envValue !== undefined && envValue !== '') {
      setPath(config, s.path, envValue);
      sourceOf.set(s.path, `environment ${s.env}`);
    }
    const flagValue = s.flag === undefined ? undefined : input.flags[s.flag];
    if (flagValue !== undefined) {
      setPath(config, s.path, flagValue);
      sourceOf.set(s.path, `--${s.flag}`);
    }
  }

  // coerceTypes turns "9443" from a flag or env var into 9443; useDefaults fills what nobody set.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: true, verbose: true });
  const validate = ajv.compile(input.schema);
  if (validate(config)) return { ok: true, config: config as T };
  for (const e of validate.errors ?? []) problems.push(describeSchemaError(e, sourceOf));
  return { ok: false, problems: [...new Set(problems)] };
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** `/listen/port` → `listen.port`, `/a/0/b` → `a[0].b`. */
function dottedPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

function describeSchemaError(e: ErrorObject, sourceOf: Map<string, string>): string {
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
  const source = sourceOf.get(path);
  return `${path === '' ? '(root)' : path}: ${message}${source === undefined ? '' : ` (from ${source})`}`;
}
