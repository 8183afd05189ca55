/**
 * Where every program's settings are read: schema defaults, then a config file (YAML or JSON), then
 * environment variables, then flags. The program's own check (its schema, and any rules between
 * settings) then sees the merged object once; every problem comes back at once, with its path and, for
 * values from the environment or flags, their source.
 */
import { readFileSync } from 'node:fs';
import type { JSONSchemaType } from 'ajv';
import { parse as parseYaml } from 'yaml';
import {
  compileSettingsSchema,
  validateSettings,
  type ConfigResult,
  type SettingSource,
  type SourceOf,
} from '../api/settings.js';

export type { ConfigResult, SettingSource } from '../api/settings.js';

/** A program's check of its merged settings: its schema, or its schema and the rules between settings. */
export type SettingsCheck<T> = (raw: Record<string, unknown>, sourceOf: SourceOf) => ConfigResult<T>;

export interface LoadConfigInput<T> {
  /** The schema alone, or `check` when the program has more to say. */
  schema?: JSONSchemaType<T>;
  check?: SettingsCheck<T>;
  settings: readonly SettingSource[];
  /** Path of the config file, if one was named. */
  file?: string;
  /** Parsed flag values by flag name (strings as typed; booleans for switches). */
  flags: Readonly<Record<string, string | boolean | undefined>>;
  env: Readonly<Record<string, string | undefined>>;
}

export function loadConfig<T>(input: LoadConfigInput<T>): ConfigResult<T> {
  const fromFile = readConfigFile(input.file);
  if (!fromFile.ok) return fromFile;
  const { settings, sourceOf } = layerSources(fromFile.config, input);
  if (input.check !== undefined) return input.check(settings, sourceOf);
  if (input.schema === undefined) throw new TypeError('loadConfig needs a schema or a check');
  return validateSettings(compileSettingsSchema(input.schema), settings, sourceOf);
}

function readConfigFile(file: string | undefined): ConfigResult<Record<string, unknown>> {
  if (file === undefined) return { ok: true, config: {} };
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read the config file: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, problems: [`${file}: the config file must hold a mapping of settings`] };
  }
  return { ok: true, config: parsed as Record<string, unknown> };
}

/** The file's settings with the environment's on top and the flags' on top of those. */
function layerSources(
  fromFile: Record<string, unknown>,
  input: Pick<LoadConfigInput<unknown>, 'settings' | 'flags' | 'env'>,
): { settings: Record<string, unknown>; sourceOf: SourceOf } {
  const settings = structuredClone(fromFile);
  const sourceOf = new Map<string, string>();
  const levels = [
    { valueOf: (s: SettingSource) => nonEmpty(s.env === undefined ? undefined : input.env[s.env]), name: envName },
    { valueOf: (s: SettingSource) => (s.flag === undefined ? undefined : input.flags[s.flag]), name: flagName },
  ];
  for (const level of levels) {
    const given = input.settings.filter((s) => level.valueOf(s) !== undefined);
    for (const s of given) {
      const value = level.valueOf(s);
      setPath(settings, s.path, s.list === true && typeof value === 'string' ? commaList(value) : value);
      sourceOf.set(s.path, level.name(s));
      const implied = s.implies;
      if (implied !== undefined && !given.some((other) => other.path === implied.path)) {
        setPath(settings, implied.path, implied.value);
        sourceOf.set(implied.path, level.name(s));
      }
    }
  }
  return { settings, sourceOf };
}

function envName(s: SettingSource): string {
  return `environment ${s.env}`;
}

function flagName(s: SettingSource): string {
  return `--${s.flag}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** `a, b,,a` → `[a, b]`. */
function commaList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    ),
  ];
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
