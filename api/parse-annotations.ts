/**
 * Reads what a pod's annotations ask for (ACK's table and semantics, docs/annotations.md) into an EipRequest, or
 * into every problem a person must fix before the pod can have its EIP. Pure: no I/O, no clock.
 */
import { echoed } from './echo.js';
import { EIP_ANNOTATION_SUFFIXES, annotationKeys, type EipAnnotationField } from './annotations.js';
import {
  EIP_ISPS,
  INSTANCE_CHARGE_TYPES,
  INTERNET_CHARGE_TYPES,
  cloudId,
  eipTags,
  freeText,
  oneOf,
  releaseStrategy,
  securityProtectionTypes,
  trueOrFalse,
  type ValueCheck,
} from './annotation-values.js';
import type {
  AnnotationProblem,
  AutoEipRequest,
  EipAnnotationParse,
  EipRequest,
  InstanceChargeType,
  InternetChargeType,
  ReleaseStrategy,
} from './eip-request.js';

const FIELDS = Object.keys(EIP_ANNOTATION_SUFFIXES) as EipAnnotationField[];
const KEYS_BY_FIELD: ReadonlyMap<EipAnnotationField, readonly string[]> = new Map(
  FIELDS.map((field) => [field, annotationKeys(field)]),
);

/**
 * Options of an allocation, named as in AutoEipRequest so the table fills the request directly. Bandwidth is
 * not here: its range depends on the charge types.
 */
type AutoOptionField = Exclude<keyof AutoEipRequest & EipAnnotationField, 'releaseStrategy' | 'bandwidth'>;
type AutoOptions = { -readonly [K in AutoOptionField]?: AutoEipRequest[K] };

const AUTO_OPTION_RULES: { [K in AutoOptionField]: ValueCheck<AutoEipRequest[K]> } = {
  internetChargeType: oneOf(INTERNET_CHARGE_TYPES),
  instanceChargeType: oneOf(INSTANCE_CHARGE_TYPES),
  isp: oneOf(EIP_ISPS),
  commonBandwidthPackageId: cloudId('cbwp-', 'a common bandwidth package id', 'cbwp-bp1…'),
  publicIpAddressPoolId: cloudId('pippool-', 'an IP address pool id', 'pippool-bp1…'),
  resourceGroupId: cloudId('rg-', 'a resource group id', 'rg-acfm…'),
  name: freeText(128),
  description: freeText(256),
  securityProtectionTypes,
  tags: eipTags,
};
const AUTO_OPTION_FIELDS = Object.keys(AUTO_OPTION_RULES) as AutoOptionField[];
/** What a static EIP ignores, in the order keys are listed in warnings. */
const AUTO_ONLY_FIELDS = FIELDS.filter((f) => f !== 'withEip' && f !== 'instanceId' && f !== 'releaseStrategy');
const allocationId = cloudId('eip-', 'an EIP instance id', 'eip-bp1…');

const DEFAULT_BANDWIDTH = 5;
const DEFAULT_INTERNET_CHARGE_TYPE: InternetChargeType = 'PayByTraffic';
const DEFAULT_INSTANCE_CHARGE_TYPE: InstanceChargeType = 'PostPaid';

/** What the user wrote for one field: the first key found, its value as written and trimmed. */
interface Written {
  key: string;
  raw: string;
  value: string;
  /** Set when another key for the same field says something else. */
  conflict?: AnnotationProblem;
}

/** A field under several keys (both prefixes, or a legacy form) must mean one thing. */
function comparable(field: EipAnnotationField, value: string): string {
  if (field === 'withEip') return value.toLowerCase();
  if (field === 'releaseStrategy' && /^(follow|never)$/i.test(value)) return value.toLowerCase();
  return value;
}

/** Each EIP key with its field and its rank among that field's keys (reports list keys in that order). */
const FIELD_OF_KEY: ReadonlyMap<string, { field: EipAnnotationField; rank: number }> = new Map(
  FIELDS.flatMap((field) => (KEYS_BY_FIELD.get(field) ?? []).map((key, rank) => [key, { field, rank }] as const)),
);

function readWritten(annotations: Readonly<Record<string, string>>): Map<EipAnnotationField, Written> {
  // One pass over the pod's keys: this runs for every pod that asks for an EIP, on the admission hot path.
  const found = new Map<EipAnnotationField, Array<Omit<Written, 'conflict'> & { rank: number }>>();
  for (const key in annotations) {
    const known = FIELD_OF_KEY.get(key);
    if (!known || !Object.hasOwn(annotations, key)) continue;
    const raw = String(annotations[key]);
    const entry = { key, raw, value: raw.trim(), rank: known.rank };
    const list = found.get(known.field);
    if (list) list.push(entry);
    else found.set(known.field, [entry]);
  }
  const written = new Map<EipAnnotationField, Written>();
  for (const field of FIELDS) {
    const list = found.get(field);
    if (!list) continue;
    if (list.length > 1) list.sort((a, b) => a.rank - b.rank);
    const first = list[0] as (typeof list)[number];
    const agree = list.every((w) => comparable(field, w.value) === comparable(field, first.value));
    const conflict: AnnotationProblem | undefined = agree
      ? undefined
      : {
          annotation: list.map((w) => w.key).join(' and '),
          message:
            `set the same thing to different values (${list.map((w) => `"${echoed(w.raw)}"`).join(' and ')}); ` +
            'keep one of them, or give them the same value',
        };
    written.set(field, { key: first.key, raw: first.raw, value: first.value, conflict });
  }
  return written;
}

/** The keys as written, for warnings. */
const keyList = (ws: Written[]): string => ws.map((w) => w.key).join(', ');

export function parseEipAnnotations(annotations: Readonly<Record<string, string>> | undefined): EipAnnotationParse {
  const written = readWritten(annotations ?? {});
  const problems: AnnotationProblem[] = [];
  const warnings: string[] = [];
  if (written.size === 0) return { kind: 'none', warnings };

  /** The user's value for a field, or undefined when absent or (reported as a problem) unusable. */
  function use<T>(field: EipAnnotationField, check: ValueCheck<T>): T | undefined {
    const w = written.get(field);
    if (!w) return undefined;
    if (w.conflict) {
      problems.push(w.conflict);
      return undefined;
    }
    const checked = check(w.value);
    if (checked.ok) return checked.value;
    for (const message of checked.messages) problems.push({ annotation: w.key, value: w.raw, message });
    return undefined;
  }

  // `auto` is undefined when pod-with-eip is unreadable: then the options are checked as if it were "true".
  const withEip = written.get('withEip');
  const auto = withEip ? use('withEip', trueOrFalse) : false;
  const instance = written.get('instanceId');

  if (auto === false && !instance) {
    const ignored = [...written.entries()].filter(([f]) => f !== 'withEip').map(([, w]) => w);
    if (ignored.length) {
      warnings.push(
        withEip
          ? `${withEip.key} is "${echoed(withEip.raw)}", so no EIP is attached and these annotations are ignored: ` +
              `${keyList(ignored)}.`
          : `No EIP is asked for, so these annotations are ignored: ${keyList(ignored)}. To ask for one, set ` +
              `${annotationKeys('withEip')[0]}: "true" or ${annotationKeys('instanceId')[0]}.`,
      );
    }
    return { kind: 'none', warnings };
  }

  if (auto === true && withEip && instance) {
    problems.push({
      annotation: `${withEip.key} and ${instance.key}`,
      message: 'asks for both a static EIP and auto allocation; choose one',
    });
  }
  const release = use('releaseStrategy', releaseStrategy) ?? { type: 'Follow' };
  const staticId = instance ? use('instanceId', allocationId) : undefined;

  if (instance && auto === false) {
    const options = AUTO_ONLY_FIELDS.flatMap((f) => written.get(f) ?? []);
    if (options.length) {
      warnings.push(
        `${instance.key} binds an existing EIP, so these options, which only apply when podeip allocates one, ` +
          `are ignored: ${keyList(options)}.`,
      );
    }
    if (problems.length || staticId === undefined) return { kind: 'invalid', problems, warnings };
    return { kind: 'request', request: { mode: 'static', allocationId: staticId, releaseStrategy: release }, warnings };
  }

  const request = readAutoRequest(use, written, release, problems, warnings);
  if (problems.length || !request) return { kind: 'invalid', problems, warnings };
  return { kind: 'request', request, warnings };
}

type Use = <T>(field: EipAnnotationField, check: ValueCheck<T>) => T | undefined;

function readAutoRequest(
  use: Use,
  written: ReadonlyMap<EipAnnotationField, Written>,
  release: ReleaseStrategy,
  problems: AnnotationProblem[],
  warnings: string[],
): EipRequest | undefined {
  const before = problems.length;
  const options: AutoOptions = {};
  for (const field of AUTO_OPTION_FIELDS) {
    // The table pairs each field with a check of that field's type, which TypeScript cannot follow in a loop.
    const value = use(field, AUTO_OPTION_RULES[field] as ValueCheck<unknown>);
    if (value !== undefined) (options as Record<string, unknown>)[field] = value;
  }

  // A charge type that is written but unusable is undefined here, not its default: its problem is reported.
  const internetWritten = written.get('internetChargeType');
  const instanceWritten = written.get('instanceChargeType');
  const internet = options.internetChargeType ?? (internetWritten ? undefined : DEFAULT_INTERNET_CHARGE_TYPE);
  const instance = options.instanceChargeType ?? (instanceWritten ? undefined : DEFAULT_INSTANCE_CHARGE_TYPE);

  if (instance === 'PrePaid' && instanceWritten) {
    if (internet === 'PayByTraffic') {
      const internetKey = internetWritten?.key ?? annotationKeys('internetChargeType')[0];
      problems.push({
        annotation: instanceWritten.key,
        value: instanceWritten.raw,
        message:
          'PrePaid EIPs must be billed PayByBandwidth, but the internet charge type is PayByTraffic' +
          `${internetWritten ? '' : ' (the default)'}; set ${internetKey}: "PayByBandwidth"`,
      });
    }
    warnings.push(
      `${instanceWritten.key} is "PrePaid": a subscription EIP cannot be released by podeip, so it outlives ` +
        'the pod and keeps billing until it expires or you release it yourself.',
    );
  }

  const bandwidth = use('bandwidth', mbitsWithin(bandwidthLimit(internet, instance))) ?? DEFAULT_BANDWIDTH;

  if (problems.length > before || internet === undefined || instance === undefined) return undefined;
  return {
    mode: 'auto',
    ...options,
    bandwidth,
    internetChargeType: internet,
    instanceChargeType: instance,
    releaseStrategy: release,
  };
}

/** AllocateEipAddress's bandwidth range, which depends on how the EIP is billed. */
function bandwidthLimit(
  internet: InternetChargeType | undefined,
  instance: InstanceChargeType | undefined,
): { max: number; applies: string } {
  if (instance === 'PrePaid') return { max: 1000, applies: 'for PrePaid EIPs' };
  if (instance === undefined || internet === undefined) {
    return { max: 1000, applies: '(the exact limit depends on the charge types, which are not valid yet)' };
  }
  if (internet === 'PayByBandwidth') return { max: 500, applies: 'for PostPaid PayByBandwidth EIPs' };
  return { max: 200, applies: 'for PostPaid PayByTraffic EIPs' };
}

function mbitsWithin(limit: { max: number; applies: string }): ValueCheck<number> {
  return (value) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (n >= 1 && n <= limit.max) return { ok: true, value: n };
    return { ok: false, messages: [`must be an integer from 1 to ${limit.max} Mbit/s ${limit.applies}`] };
  };
}
