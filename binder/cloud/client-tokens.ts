/**
 * Deterministic ClientTokens and the ownership tags podeip puts on the EIPs it allocates.
 *
 * A ClientToken derived from the pod (not drawn at random) is what makes a restarted binder safe: the same
 * token with the same parameters makes the cloud answer the first call again instead of acting twice
 * (docs/alibaba-cloud-api.md#clienttoken-idempotency: ≤64 ASCII characters, case-sensitive; same token +
 * other parameters → IdempotentParameterMismatch). So a token must change whenever the parameters
 * legitimately change (a new ENI or IP for the same EIP) and whenever the same operation must really happen
 * again (`generation`).
 */
import { createHash } from 'node:crypto';
import { MAX_TAG_VALUE_LENGTH, PODEIP_OWNERSHIP_TAG_KEYS, RESERVED_TAG_PREFIX } from '../../api/constants.js';

export type TokenOperation = 'allocate' | 'associate' | 'unassociate' | 'add-to-package' | 'remove-from-package';

const OPERATION_LABELS: Readonly<Record<TokenOperation, string>> = {
  allocate: 'alloc',
  associate: 'assoc',
  unassociate: 'unassoc',
  'add-to-package': 'cbwp-add',
  'remove-from-package': 'cbwp-rm',
};

export const MAX_CLIENT_TOKEN_LENGTH = 64;
const TOKEN_PREFIX = 'podeip';

export interface ClientTokenInput {
  operation: TokenOperation;
  podUid: string;
  /** The EIP acted on; absent for allocate. */
  allocationId?: string;
  /** What else the call names (ENI id, private IP, bandwidth package): a new target makes a new token. */
  target?: readonly string[];
  /** Bumped by the caller when the same operation on the same target must take effect again. */
  generation?: number;
}

/**
 * `podeip-<op>-<uid>[-<allocationId>][-g<generation>][-<hash of target>]` when that fits in 64
 * printable ASCII characters, else `podeip-<op>-<hash of everything>`.
 */
export function clientTokenFor(input: ClientTokenInput): string {
  if (input.podUid === '') throw new Error('clientTokenFor: podUid is empty');
  const generation = input.generation ?? 0;
  if (!(Number.isInteger(generation) && generation >= 0))
    throw new Error(`clientTokenFor: generation must be a whole number >= 0, got ${generation}`);
  const label = `${TOKEN_PREFIX}-${OPERATION_LABELS[input.operation]}`;
  const parts = [input.podUid];
  if (input.allocationId !== undefined && input.allocationId !== '') parts.push(input.allocationId);
  if (generation > 0) parts.push(`g${generation}`);
  if (input.target !== undefined && input.target.length > 0) parts.push(digest(input.target.join('\n'), 12));
  const readable = `${label}-${parts.join('-')}`;
  if (readable.length <= MAX_CLIENT_TOKEN_LENGTH && /^[\x21-\x7e]+$/.test(readable)) return readable;
  const room = MAX_CLIENT_TOKEN_LENGTH - label.length - 1;
  return `${label}-${digest(JSON.stringify([input.podUid, input.allocationId ?? '', generation, input.target ?? []]), room)}`;
}

function digest(text: string, length: number): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);
}

export interface PodOwner {
  clusterId: string;
  namespace: string;
  podName: string;
  podUid: string;
}

/**
 * The tags that say "podeip allocated this EIP for this pod", for the orphan sweep (DescribeEipAddresses
 * by tag). Kubernetes names may start with `aliyun` (refused by the API) and pod names may exceed 128
 * characters, so such values are made acceptable: a `_` prefix (never part of a Kubernetes name, so the
 * value stays unambiguous) and a hash suffix for long names. The cluster id comes from configuration and
 * is refused outright when unusable.
 */
export function ownershipTagsFor(owner: PodOwner): Record<string, string> {
  const clusterId = owner.clusterId;
  if (
    clusterId === '' ||
    clusterId.length > MAX_TAG_VALUE_LENGTH ||
    RESERVED_TAG_PREFIX.test(clusterId) ||
    /https?:\/\//.test(clusterId)
  ) {
    throw new Error(
      `cluster id "${clusterId}" cannot be a tag value: 1–${MAX_TAG_VALUE_LENGTH} characters, not starting with aliyun or acs:, no http(s)://`,
    );
  }
  if (owner.podUid === '') throw new Error('ownershipTagsFor: podUid is empty');
  return {
    [PODEIP_OWNERSHIP_TAG_KEYS.clusterId]: clusterId,
    [PODEIP_OWNERSHIP_TAG_KEYS.namespace]: tagValueFor(owner.namespace),
    [PODEIP_OWNERSHIP_TAG_KEYS.podName]: tagValueFor(owner.podName),
    [PODEIP_OWNERSHIP_TAG_KEYS.podUid]: tagValueFor(owner.podUid),
  };
}

/** A Kubernetes name as an acceptable tag value (see ownershipTagsFor). */
export function tagValueFor(name: string): string {
  const escaped = RESERVED_TAG_PREFIX.test(name) ? `_${name}` : name;
  if (escaped.length <= MAX_TAG_VALUE_LENGTH) return escaped;
  const hash = digest(name, 8);
  return `${escaped.slice(0, MAX_TAG_VALUE_LENGTH - hash.length - 1)}~${hash}`;
}
