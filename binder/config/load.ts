/**
 * `podeip binder`'s configuration: loadConfig's defaults → file → env → flags, plus what one schema pass
 * cannot say: comma lists on the command line, a key file implying its credential source, and the rules
 * that tie two settings together. Every problem is reported at once, each with its path.
 */
import { readFileSync } from 'node:fs';
import type { JSONSchemaType } from 'ajv';
import { loadConfig, type ConfigResult } from '../../cli/config.js';
import { RETRY_JITTER } from '../kube/leader-election.js';
import { binderSettings, createBinderConfigSchema, LIST_SETTING_PATHS } from './schema.js';
import type { BinderConfig } from './types.js';

/** Mounted into every pod with a service account; holds the pod's namespace. */
export const POD_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** client-go's JitterFactor: a renewal retried with jitter must still land before the deadline. */

export interface LoadBinderConfigInput {
  file?: string;
  flags: Readonly<Record<string, string | boolean | undefined>>;
  env: Readonly<Record<string, string | undefined>>;
  /** The pod's own namespace, the Lease's default home; absent outside a cluster. */
  podNamespace?: string;
}

/** The namespace of the pod this process runs in, or undefined outside a cluster. */
export function readPodNamespace(file = POD_NAMESPACE_FILE): string | undefined {
  try {
    const namespace = readFileSync(file, 'utf8').trim();
    return namespace === '' ? undefined : namespace;
  } catch {
    return undefined;
  }
}

interface ListOverride {
  path: string;
  values: string[];
  source: string;
}

export function loadBinderConfig(input: LoadBinderConfigInput): ConfigResult<BinderConfig> {
  const flags: Record<string, string | boolean | undefined> = { ...input.flags };
  const env: Record<string, string | undefined> = { ...input.env };
  // A key file named at some level means "use it" at that level, unless that level names a source too.
  if (flags['cloud-key-file'] !== undefined && flags['cloud-credentials'] === undefined)
    flags['cloud-credentials'] = 'key-file';
  if (nonEmpty(env.PODEIP_CLOUD_KEY_FILE) && !nonEmpty(env.PODEIP_CLOUD_CREDENTIALS))
    env.PODEIP_CLOUD_CREDENTIALS = 'key-file';

  const lists = takeListOverrides(flags, env);
  const schema = createBinderConfigSchema(
    input.podNamespace === undefined ? {} : { leaseNamespace: input.podNamespace },
  );
  const settings = binderSettings.filter((s) => !LIST_SETTING_PATHS.has(s.path));
  const common = { settings, ...(input.file === undefined ? {} : { file: input.file }), flags, env };
  const whole = loadConfig({ schema, ...common });

  const problems = whole.ok ? [] : [...whole.problems];
  for (const list of lists) problems.push(...listProblems(schema, list));
  // Paired settings are checked even when something else failed, so one run lists everything.
  for (const group of PAIRED_GROUPS) {
    const paired = loadConfig({ schema: pairedSchema(schema, group), ...common });
    if (paired.ok) problems.push(...group.check(paired.config as PairedSettings));
  }
  if (problems.length > 0 || !whole.ok) return { ok: false, problems: [...new Set(problems)] };

  const config = whole.config;
  for (const list of lists) if (list.path === 'namespaces') config.namespaces = list.values;
  return { ok: true, config };
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** Removes comma-list settings from flags and env (loadConfig would take them as one string) and splits them. */
function takeListOverrides(
  flags: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined>,
): ListOverride[] {
  const overrides: ListOverride[] = [];
  for (const setting of binderSettings.filter((s) => LIST_SETTING_PATHS.has(s.path))) {
    const fromFlag = setting.flag === undefined ? undefined : flags[setting.flag];
    const fromEnv = setting.env === undefined ? undefined : env[setting.env];
    if (setting.flag !== undefined) delete flags[setting.flag];
    if (setting.env !== undefined) delete env[setting.env];
    const split = (text: string): string[] => [
      ...new Set(
        text
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      ),
    ];
    if (typeof fromFlag === 'string')
      overrides.push({ path: setting.path, values: split(fromFlag), source: `--${setting.flag}` });
    else if (nonEmpty(fromEnv))
      overrides.push({ path: setting.path, values: split(fromEnv), source: `environment ${setting.env}` });
  }
  return overrides;
}

function listProblems(schema: JSONSchemaType<BinderConfig>, list: ListOverride): string[] {
  const items = (schema.properties as Record<string, { items?: { pattern?: string; description?: string } }>)[list.path]
    ?.items;
  if (items?.pattern === undefined) return [];
  const pattern = new RegExp(items.pattern, 'u');
  return list.values.flatMap((value, i) =>
    pattern.test(value)
      ? []
      : [`${list.path}[${i}]: must be ${items.description ?? `like ${items.pattern}`} (from ${list.source})`],
  );
}

type PairedSettings = {
  leaderElection: BinderConfig['leaderElection'];
  cloud: Pick<BinderConfig['cloud'], 'credentials'>;
};

/** Settings checked against each other: where they live, which of them (all when absent), and the rules. */
interface PairedGroup {
  path: string[];
  fields?: string[];
  check(config: PairedSettings): string[];
}

const PAIRED_GROUPS: readonly PairedGroup[] = [
  {
    path: ['leaderElection'],
    fields: ['leaseDurationSeconds', 'renewDeadlineSeconds', 'retryPeriodSeconds'],
    check: leaderElectionProblems,
  },
  { path: ['cloud', 'credentials'], check: credentialsProblems },
];

type SchemaNode = { properties?: Record<string, SchemaNode>; required?: string[]; [keyword: string]: unknown };

/**
 * The schema of one group alone: every other setting passes unchecked, so a bad value elsewhere (even
 * in the same section) does not hide a broken pair.
 */
function pairedSchema(schema: JSONSchemaType<BinderConfig>, group: PairedGroup): JSONSchemaType<PairedSettings> {
  let node = schema as unknown as SchemaNode;
  for (const key of group.path) node = node.properties?.[key] as SchemaNode;
  let picked: SchemaNode = node;
  if (group.fields !== undefined) {
    const fields = group.fields;
    picked = {
      type: 'object',
      additionalProperties: true,
      default: {},
      required: fields,
      properties: Object.fromEntries(fields.map((f) => [f, node.properties?.[f] as SchemaNode])),
    };
  }
  for (const key of [...group.path].reverse()) {
    picked = {
      type: 'object',
      additionalProperties: true,
      default: {},
      required: [key],
      properties: { [key]: picked },
    };
  }
  const { default: _rootHasNoDefault, ...root } = picked;
  return root as unknown as JSONSchemaType<PairedSettings>;
}

/** Rules between settings, as path-qualified problems. Exported for the unit tests. */
export function pairedSettingProblems(config: PairedSettings): string[] {
  return PAIRED_GROUPS.flatMap((group) => group.check(config));
}

function leaderElectionProblems(config: PairedSettings): string[] {
  const problems: string[] = [];
  const { leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds } = config.leaderElection;
  // A leader must give up before its lease can expire for anyone else, or two replicas act at once.
  if (!(renewDeadlineSeconds < leaseDurationSeconds)) {
    problems.push(
      `leaderElection.renewDeadlineSeconds: must be less than leaderElection.leaseDurationSeconds (${leaseDurationSeconds}), is ${renewDeadlineSeconds}`,
    );
  }
  if (!(retryPeriodSeconds * RETRY_JITTER < renewDeadlineSeconds)) {
    problems.push(
      `leaderElection.retryPeriodSeconds: must be less than leaderElection.renewDeadlineSeconds ÷ ${RETRY_JITTER} (${round(renewDeadlineSeconds / RETRY_JITTER)}), is ${retryPeriodSeconds}`,
    );
  }
  return problems;
}

function credentialsProblems(config: PairedSettings): string[] {
  const credentials = config.cloud.credentials as { source: string; path?: string };
  if (credentials.source === 'key-file' && credentials.path === undefined)
    return ['cloud.credentials.path: is required with source key-file (--cloud-key-file)'];
  if (credentials.source === 'default-chain' && credentials.path !== undefined) {
    return [
      'cloud.credentials.path: is only read with source key-file; remove it or set cloud.credentials.source to key-file',
    ];
  }
  return [];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
