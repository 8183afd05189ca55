/**
 * Checks for one annotation value each, already trimmed. A failed check says what is allowed, in words a
 * person can act on; parse-annotations.ts adds the key and the value as written. Pure.
 */
import AjvModule, { type ErrorObject, type JSONSchemaType } from 'ajv';
import {
  MAX_TAG_VALUE_LENGTH,
  MAX_USER_EIP_TAGS,
  PODEIP_OWNERSHIP_TAG_COUNT,
  PODEIP_TAG_PREFIX,
  RESERVED_TAG_PREFIX,
} from './constants.js';
import { boundedMessages, echoed, echoedList } from './echo.js';
import { formatGoDuration, parseGoDuration } from './duration.js';
import type { ReleaseStrategy } from './eip-request.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; messages: string[] };
export type ValueCheck<T> = (value: string) => Checked<T>;

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const rejected = (messages: string[]): Checked<never> => ({ ok: false, messages });

export const INTERNET_CHARGE_TYPES = ['PayByTraffic', 'PayByBandwidth'] as const;
export const INSTANCE_CHARGE_TYPES = ['PostPaid', 'PrePaid'] as const;
/** The lines AllocateEipAddress accepts as `ISP`. */
export const EIP_ISPS = [
  'BGP',
  'BGP_PRO',
  'ChinaTelecom',
  'ChinaUnicom',
  'ChinaMobile',
  'ChinaTelecom_L2',
  'ChinaUnicom_L2',
  'ChinaMobile_L2',
  'BGP_FinanceCloud',
  'BGP_International',
] as const;
/** The only value of AllocateEipAddress `SecurityProtectionTypes.N`, which takes at most 10 entries. */
export const SECURITY_PROTECTION_TYPES = ['AntiDDoS_Enhanced'] as const;
const MAX_SECURITY_PROTECTION_TYPES = 10;
const MAX_TAG_KEY_LENGTH = 128;

/** `A or B`, or `one of A, B, C`. */
function alternatives(allowed: readonly string[]): string {
  if (allowed.length <= 2) return allowed.join(' or ');
  return `one of ${allowed.join(', ')}`;
}

/** Length in characters as a person (and Alibaba Cloud) counts them, not UTF-16 code units. */
const length = (s: string): number => [...s].length;

export function oneOf<T extends string>(allowed: readonly T[]): ValueCheck<T> {
  return (value) => {
    const match = allowed.find((a) => a === value);
    if (match !== undefined) return ok(match);
    const caseOnly = allowed.some((a) => a.toLowerCase() === value.toLowerCase());
    return rejected([`must be ${alternatives(allowed)}${caseOnly ? ' (the case matters)' : ''}`]);
  };
}

/** Alibaba Cloud ids: a fixed prefix, then lowercase letters and digits. */
export function cloudId(prefix: string, what: string, example: string): ValueCheck<string> {
  const pattern = new RegExp(`^${prefix}[a-z0-9]{6,}$`);
  return (value) =>
    pattern.test(value)
      ? ok(value)
      : rejected([
          `must be ${what} that looks like ${example} ("${prefix}" then at least 6 lowercase letters or digits)`,
        ]);
}

/** Free text such as an EIP name; empty means "not set", since the API's own lower bound is 0 characters. */
export function freeText(maxLength: number): ValueCheck<string | undefined> {
  return (value) => {
    if (value === '') return ok(undefined);
    const messages: string[] = [];
    const n = length(value);
    if (n > maxLength) messages.push(`must be at most ${maxLength} characters long (it has ${n})`);
    if (/^https?:\/\//i.test(value)) messages.push('must not start with http:// or https://');
    return messages.length ? rejected(messages) : ok(value);
  };
}

export const trueOrFalse: ValueCheck<boolean> = (value) => {
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') return ok(lower === 'true');
  return rejected(['must be "true" or "false"']);
};

export const securityProtectionTypes: ValueCheck<string[]> = (value) => {
  const items = value.split(',').map((item) => item.trim());
  const messages: string[] = [];
  const unknown = items.filter((item) => !(SECURITY_PROTECTION_TYPES as readonly string[]).includes(item));
  if (unknown.length) {
    messages.push(
      `must be a comma-separated list of ${alternatives(SECURITY_PROTECTION_TYPES)} (not ${echoedList(unknown)})`,
    );
  }
  if (items.length > MAX_SECURITY_PROTECTION_TYPES) {
    messages.push(`lists ${items.length} types; at most ${MAX_SECURITY_PROTECTION_TYPES} are allowed`);
  }
  // Repeating the one allowed type asks for nothing more, so the request carries each type once.
  return messages.length ? rejected(messages) : ok([...new Set(items)]);
};

const RELEASE_STRATEGY_HELP = 'must be Follow, Never, or a positive Go duration such as 10m, 1.5h or 5m30s';

/** `Follow`, `Never` (any case), or a Go duration after which a PodEIP whose pod is gone is released. */
export const releaseStrategy: ValueCheck<ReleaseStrategy> = (value) => {
  const lower = value.toLowerCase();
  if (lower === 'follow') return ok({ type: 'Follow' });
  if (lower === 'never') return ok({ type: 'Never' });
  const seconds = parseGoDuration(value);
  if (seconds === undefined) return rejected([RELEASE_STRATEGY_HELP]);
  if (seconds <= 0)
    return rejected([`${RELEASE_STRATEGY_HELP}; a TTL of ${formatGoDuration(seconds)} is not positive`]);
  return ok({ type: 'TTL', after: value, seconds });
};

// ajv ships as CommonJS: under NodeNext its default import is the module object, whose `default` is the class.
const ajv = new AjvModule.default({ allErrors: true });
const tagsSchema: JSONSchemaType<Record<string, string>> = {
  type: 'object',
  additionalProperties: { type: 'string' },
  required: [],
};
const validTagsShape = ajv.compile(tagsSchema);
const TAGS_HELP = 'must be a JSON object of tag keys to string values, such as {"team":"games","env":"prod"}';

/** `/a~1b` (a JSON Pointer from ajv) → `a/b`. */
function tagKeyAt(error: ErrorObject): string {
  return error.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `eip-tags`: a JSON object of user tags, within what TagResources accepts once podeip adds its own. */
export const eipTags: ValueCheck<Record<string, string> | undefined> = (value) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    return rejected([`${TAGS_HELP}; it is not valid JSON (${(e as Error).message})`]);
  }
  if (!validTagsShape(parsed)) {
    const errors = validTagsShape.errors ?? [];
    if (errors.some((e) => e.instancePath === '')) return rejected([TAGS_HELP]);
    return rejected(
      boundedMessages(
        errors.map(
          (e) => `tag "${echoed(tagKeyAt(e))}" must have a string value, such as "${echoed(tagKeyAt(e))}":"x"`,
        ),
      ),
    );
  }

  const messages: string[] = [];
  const keys = Object.keys(parsed);
  if (keys.length > MAX_USER_EIP_TAGS) {
    messages.push(
      `has ${keys.length} tags; at most ${MAX_USER_EIP_TAGS} are allowed ` +
        `(an EIP holds 20 and podeip adds ${PODEIP_OWNERSHIP_TAG_COUNT} of its own)`,
    );
  }
  for (const key of keys) messages.push(...tagProblems(key, parsed[key] ?? ''));
  if (messages.length) return rejected(boundedMessages(messages));
  return ok(keys.length ? parsed : undefined);
};

function tagProblems(key: string, tagValue: string): string[] {
  const messages: string[] = [];
  const where = `tag key "${echoed(key)}"`;
  if (key === '') messages.push('tag keys must not be empty');
  if (length(key) > MAX_TAG_KEY_LENGTH) messages.push(`${where} must be at most ${MAX_TAG_KEY_LENGTH} characters long`);
  if (RESERVED_TAG_PREFIX.test(key))
    messages.push(`${where} must not start with "aliyun" or "acs:" (reserved by Alibaba Cloud)`);
  if (/https?:\/\//i.test(key)) messages.push(`${where} must not contain http:// or https://`);
  if (key.startsWith(PODEIP_TAG_PREFIX)) {
    messages.push(`${where} must not start with "${PODEIP_TAG_PREFIX}", which is reserved for podeip's own tags`);
  }
  if (length(tagValue) > MAX_TAG_VALUE_LENGTH) {
    messages.push(`the value of ${where} must be at most ${MAX_TAG_VALUE_LENGTH} characters long`);
  }
  return messages;
}
