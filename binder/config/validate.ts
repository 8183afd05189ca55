/**
 * The binder's settings, checked once: the schema (with its defaults) in one ajv pass, then the rules
 * that tie two settings together, on the defaulted settings. A rule is skipped only when a setting it
 * reads is itself invalid, so one run lists every problem, each with its path.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { checkAgainstSchema, compileSettingsSchema, type ConfigResult, type SourceOf } from '../../api/settings.js';
import { RETRY_JITTER } from '../../api/kube/leader-election.js';
import { createBinderConfigSchema, DEFAULT_LEASE_NAMESPACE } from './schema.js';
import type { BinderConfig } from './types.js';

export interface BinderConfigContext {
  /** For each dotted path set by a flag or environment variable, which one. */
  sourceOf?: SourceOf;
  /** The pod's own namespace, the Lease's default home; absent outside a cluster. */
  podNamespace?: string;
}

/** One compiled schema per default Lease namespace; a process asks for one. */
const validators = new Map<string, ValidateFunction<BinderConfig>>();

function validatorFor(leaseNamespace: string): ValidateFunction<BinderConfig> {
  let validate = validators.get(leaseNamespace);
  if (validate === undefined) {
    validate = compileSettingsSchema(createBinderConfigSchema({ leaseNamespace }));
    validators.set(leaseNamespace, validate);
  }
  return validate;
}

/** Checks `raw` (defaults and coercions land in it) and returns the binder's settings or every problem. */
export function validateBinderConfig(raw: unknown, context: BinderConfigContext = {}): ConfigResult<BinderConfig> {
  const validate = validatorFor(context.podNamespace ?? DEFAULT_LEASE_NAMESPACE);
  const check = checkAgainstSchema(validate, raw, context.sourceOf ?? new Map());
  const problems = [...check.problems];
  const settings = check.settings as Partial<CrossFieldSettings>;
  for (const rule of CROSS_FIELD_RULES) {
    if (rule.reads.some((pointer) => check.errors.some((e) => touches(e, pointer)))) continue;
    problems.push(...rule.check(settings));
  }
  if (problems.length > 0) return { ok: false, problems: [...new Set(problems)] };
  return { ok: true, config: check.settings as BinderConfig };
}

/** Whether a schema error is about the setting at `pointer` or something inside it. */
function touches(error: ErrorObject, pointer: string): boolean {
  return error.instancePath === pointer || error.instancePath.startsWith(`${pointer}/`);
}

type CrossFieldSettings = {
  leaderElection: BinderConfig['leaderElection'];
  cloud: Pick<BinderConfig['cloud'], 'credentials'>;
};

/** A rule between settings: the JSON pointers it reads, and its problems (none when a setting is missing). */
interface CrossFieldRule {
  reads: string[];
  check(settings: Partial<CrossFieldSettings>): string[];
}

const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  {
    reads: [
      '/leaderElection/leaseDurationSeconds',
      '/leaderElection/renewDeadlineSeconds',
      '/leaderElection/retryPeriodSeconds',
    ],
    check: leaderElectionProblems,
  },
  { reads: ['/cloud/credentials/source', '/cloud/credentials/path'], check: credentialsProblems },
];

/** Rules between settings, as path-qualified problems. Exported for the unit tests. */
export function crossFieldProblems(settings: Partial<CrossFieldSettings>): string[] {
  return CROSS_FIELD_RULES.flatMap((rule) => rule.check(settings));
}

function leaderElectionProblems(settings: Partial<CrossFieldSettings>): string[] {
  const { leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds } = settings.leaderElection ?? {};
  if (typeof leaseDurationSeconds !== 'number') return [];
  if (typeof renewDeadlineSeconds !== 'number' || typeof retryPeriodSeconds !== 'number') return [];
  const problems: string[] = [];
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

function credentialsProblems(settings: Partial<CrossFieldSettings>): string[] {
  const credentials = settings.cloud?.credentials as { source?: unknown; path?: unknown } | undefined;
  if (credentials?.source === 'key-file' && credentials.path === undefined)
    return ['cloud.credentials.path: is required with source key-file (--cloud-key-file)'];
  if (credentials?.source === 'default-chain' && credentials.path !== undefined) {
    return [
      'cloud.credentials.path: is only read with source key-file; remove it or set cloud.credentials.source to key-file',
    ];
  }
  return [];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
