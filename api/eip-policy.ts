/**
 * EIPPolicy (`podeip.io/v1alpha1`, cluster-scoped): which namespaces may use EIPs, which static EIPs they
 * may bind, and what they may allocate. The webhook and the binder both decide with `evaluateEipPolicies`
 * (docs/security.md#who-may-use-which-eip):
 * - no EIPPolicy in the cluster: everything is allowed, as with ACK's controller;
 * - otherwise a namespace that no policy selects may use no EIP, and a request is allowed when at least
 *   one policy selecting its namespace allows all of it, its count included.
 */
import type { AutoEipRequest, EipRequest } from './eip-request.js';
import { boundedMessages, echoed, echoedList } from './echo.js';
import { isRecord } from './is-record.js';
import { compileLabelSelector, type LabelMatcher, type LabelSelector } from './label-selector.js';
import type { CrdPrinterColumn, CrdSchema, CustomResourceDefinition } from './podeip.js';

export const EIP_POLICY_GROUP = 'podeip.io';
export const EIP_POLICY_VERSION = 'v1alpha1';
export const EIP_POLICY_API_VERSION = `${EIP_POLICY_GROUP}/${EIP_POLICY_VERSION}`;
export const EIP_POLICY_KIND = 'EIPPolicy';
export const EIP_POLICY_PLURAL = 'eippolicies';
/** ISP of an EIP allocated without `eip-isp` (AllocateEipAddress's default). */
export const DEFAULT_ISP = 'BGP';

export interface StaticEipRule {
  allocationIds?: string[];
  /** An EIP carrying every one of these tags. */
  tags?: Record<string, string>;
  publicIpAddressPoolIds?: string[];
}

export interface AllocationRule {
  /** Unset: either. */
  internetChargeTypes?: string[];
  /** Subscription EIPs outlive their pods and cannot be released early; refused unless true. */
  allowPrePaid?: boolean;
  maxBandwidthMbps?: number;
  /** Unset: any; an EIP without `eip-isp` is BGP. */
  isps?: string[];
  /** Set: the pod must name one of these pools. */
  publicIpAddressPoolIds?: string[];
  /** Set: the pod must name one of these resource groups. */
  resourceGroupIds?: string[];
}

export interface EipPolicySpec {
  namespaces?: string[];
  /** `{}` selects every namespace. */
  namespaceSelector?: LabelSelector;
  /** Unset: no static EIP may be bound. */
  staticEips?: StaticEipRule;
  /** Unset: no EIP may be allocated. */
  allocation?: AllocationRule;
  /** EIPs the namespace may hold at once (its PodEIPs); unset: no limit. */
  maxEipsPerNamespace?: number;
}

export interface EipPolicy {
  name: string;
  spec: EipPolicySpec;
  /** Undefined without a namespaceSelector, or with one that cannot be parsed: it selects by name only. */
  selector?: LabelMatcher;
}

export interface NamespaceFacts {
  name: string;
  labels: Record<string, string>;
}

/** What is known of a static EIP; tags and pool are unknown to the webhook, which does not call the cloud. */
export interface StaticEipFacts {
  tags?: Record<string, string>;
  publicIpAddressPoolId?: string;
}

export interface EipPolicyContext {
  /** EIPs the namespace holds besides this pod's. */
  held: number;
  /** The static EIP's facts, when known (the binder's DescribeEipAddresses). */
  eip?: StaticEipFacts;
}

export type EipPolicyVerdict =
  | { allowed: true; policy?: string }
  /** The webhook cannot tell (a static EIP a policy may allow by tag or pool): the binder decides. */
  | { allowed: 'undecided'; policy: string }
  | { allowed: false; message: string };

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;

const stringMap = (value: unknown): Record<string, string> | undefined =>
  isRecord(value)
    ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : undefined;

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;

function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

/** An EIPPolicy as it comes off the wire (its CRD's schema already checked the shape). */
export function readEipPolicy(object: { metadata?: { name?: string }; spec?: unknown }): EipPolicy {
  const spec = isRecord(object.spec) ? object.spec : {};
  const staticEips = isRecord(spec.staticEips) ? spec.staticEips : undefined;
  const allocation = isRecord(spec.allocation) ? spec.allocation : undefined;
  const selectorField = isRecord(spec.namespaceSelector) ? (spec.namespaceSelector as LabelSelector) : undefined;
  const policySpec: EipPolicySpec = defined({
    namespaces: strings(spec.namespaces),
    namespaceSelector: selectorField,
    staticEips:
      staticEips === undefined
        ? undefined
        : defined({
            allocationIds: strings(staticEips.allocationIds),
            tags: stringMap(staticEips.tags),
            publicIpAddressPoolIds: strings(staticEips.publicIpAddressPoolIds),
          }),
    allocation:
      allocation === undefined
        ? undefined
        : defined({
            internetChargeTypes: strings(allocation.internetChargeTypes),
            allowPrePaid: allocation.allowPrePaid === true,
            maxBandwidthMbps: count(allocation.maxBandwidthMbps),
            isps: strings(allocation.isps),
            publicIpAddressPoolIds: strings(allocation.publicIpAddressPoolIds),
            resourceGroupIds: strings(allocation.resourceGroupIds),
          }),
    maxEipsPerNamespace: count(spec.maxEipsPerNamespace),
  });
  const compiled = selectorField === undefined ? undefined : compileLabelSelector(selectorField);
  return {
    name: object.metadata?.name ?? '',
    spec: policySpec,
    ...(typeof compiled === 'function' ? { selector: compiled } : {}),
  };
}

export function selectsNamespace(policy: EipPolicy, namespace: NamespaceFacts): boolean {
  return (policy.spec.namespaces ?? []).includes(namespace.name) || (policy.selector?.(namespace.labels) ?? false);
}

/** Why this policy refuses an allocation, or undefined if it allows it. */
function refuseAllocation(rule: AllocationRule | undefined, request: AutoEipRequest): string | undefined {
  if (rule === undefined) return 'allows no EIP to be allocated';
  if (rule.internetChargeTypes !== undefined && !rule.internetChargeTypes.includes(request.internetChargeType))
    return `allows the charge types ${echoedList(rule.internetChargeTypes)}, not ${request.internetChargeType}`;
  if (request.instanceChargeType === 'PrePaid' && rule.allowPrePaid !== true) return 'allows no PrePaid EIP';
  if (rule.maxBandwidthMbps !== undefined && request.bandwidth > rule.maxBandwidthMbps)
    return `allows at most ${rule.maxBandwidthMbps} Mbit/s, not ${request.bandwidth}`;
  const isp = request.isp ?? DEFAULT_ISP;
  if (rule.isps !== undefined && !rule.isps.includes(isp))
    return `allows the ISPs ${echoedList(rule.isps)}, not ${echoed(isp)}`;
  const pools = rule.publicIpAddressPoolIds;
  if (
    pools !== undefined &&
    (request.publicIpAddressPoolId === undefined || !pools.includes(request.publicIpAddressPoolId))
  )
    return `allows allocating only from the IP address pools ${echoedList(pools)} (eip-public-ip-address-pool-id)`;
  const groups = rule.resourceGroupIds;
  if (groups !== undefined && (request.resourceGroupId === undefined || !groups.includes(request.resourceGroupId)))
    return `allows allocating only into the resource groups ${echoedList(groups)} (eip-resource-group-id)`;
  return undefined;
}

/** Why this policy refuses a static EIP, 'undecided' if only the EIP's tags or pool could tell, or undefined. */
function refuseStatic(
  rule: StaticEipRule | undefined,
  allocationId: string,
  eip: StaticEipFacts | undefined,
): string | 'undecided' | undefined {
  if (rule === undefined) return 'allows no static EIP';
  if (rule.allocationIds?.includes(allocationId)) return undefined;
  const tags = rule.tags !== undefined && Object.keys(rule.tags).length > 0 ? rule.tags : undefined;
  const pools =
    rule.publicIpAddressPoolIds !== undefined && rule.publicIpAddressPoolIds.length > 0
      ? rule.publicIpAddressPoolIds
      : undefined;
  if (tags === undefined && pools === undefined) return `does not list the EIP ${echoed(allocationId)}`;
  if (eip === undefined) return 'undecided';
  if (tags !== undefined && Object.entries(tags).every(([k, v]) => eip.tags?.[k] === v)) return undefined;
  if (pools !== undefined && eip.publicIpAddressPoolId !== undefined && pools.includes(eip.publicIpAddressPoolId))
    return undefined;
  return `does not list the EIP ${echoed(allocationId)} by id, and it lacks the policy's tags and pools`;
}

export function evaluateEipPolicies(
  policies: readonly EipPolicy[],
  namespace: NamespaceFacts,
  request: EipRequest,
  context: EipPolicyContext,
): EipPolicyVerdict {
  if (policies.length === 0) return { allowed: true };
  const selecting = policies.filter((p) => selectsNamespace(p, namespace)).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (selecting.length === 0)
    return { allowed: false, message: `no EIPPolicy lets namespace ${namespace.name} use EIPs` };
  const reasons: string[] = [];
  let undecided: string | undefined;
  for (const policy of selecting) {
    const limit = policy.spec.maxEipsPerNamespace;
    const refusal =
      request.mode === 'auto'
        ? refuseAllocation(policy.spec.allocation, request)
        : refuseStatic(policy.spec.staticEips, request.allocationId, context.eip);
    const overCount =
      limit !== undefined && context.held >= limit
        ? `allows ${limit} EIPs per namespace and namespace ${namespace.name} holds ${context.held}`
        : undefined;
    if (refusal === undefined && overCount === undefined) return { allowed: true, policy: policy.name };
    if (refusal === 'undecided' && overCount === undefined) undecided ??= policy.name;
    else
      reasons.push(
        `EIPPolicy ${policy.name} ${refusal === undefined || refusal === 'undecided' ? overCount! : refusal}`,
      );
  }
  if (undecided !== undefined) return { allowed: 'undecided', policy: undecided };
  const shown = boundedMessages(reasons);
  const what = request.mode === 'auto' ? 'allocate this EIP' : `bind the EIP ${echoed(request.allocationId)}`;
  return { allowed: false, message: `no EIPPolicy lets namespace ${namespace.name} ${what}: ${shown.join('; ')}` };
}

const list = (description: string): CrdSchema => ({ type: 'array', description, items: { type: 'string' } });

const eipPolicySchema: CrdSchema = {
  type: 'object',
  description: 'EIPPolicy says which namespaces may use which EIPs, and what they may allocate.',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      properties: {
        namespaces: list('Namespaces this policy applies to, by name.'),
        namespaceSelector: {
          type: 'object',
          description: 'Namespaces this policy applies to, by label; {} selects every namespace.',
          properties: {
            matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
            matchExpressions: {
              type: 'array',
              items: {
                type: 'object',
                required: ['key', 'operator'],
                properties: {
                  key: { type: 'string' },
                  operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
                  values: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
        },
        staticEips: {
          type: 'object',
          description: 'The existing EIPs these namespaces may bind; unset: none.',
          properties: {
            allocationIds: list('By id (eip-…).'),
            tags: {
              type: 'object',
              description: 'Any EIP carrying all of these tags.',
              additionalProperties: { type: 'string' },
            },
            publicIpAddressPoolIds: list('Any EIP from one of these IP address pools (pippool-…).'),
          },
        },
        allocation: {
          type: 'object',
          description: 'What these namespaces may allocate; unset: nothing.',
          properties: {
            internetChargeTypes: {
              type: 'array',
              description: 'Unset: either.',
              items: { type: 'string', enum: ['PayByBandwidth', 'PayByTraffic'] },
            },
            allowPrePaid: { type: 'boolean', description: 'Subscription EIPs; refused unless true.' },
            maxBandwidthMbps: { type: 'integer', minimum: 1, description: 'Bandwidth ceiling in Mbit/s.' },
            isps: list('Unset: any. An EIP without eip-isp is BGP.'),
            publicIpAddressPoolIds: list('Set: the pod must name one of these pools.'),
            resourceGroupIds: list('Set: the pod must name one of these resource groups.'),
          },
        },
        maxEipsPerNamespace: {
          type: 'integer',
          minimum: 0,
          description: 'EIPs (PodEIPs) one namespace may hold at once; unset: no limit.',
        },
      },
    },
  },
};

const printerColumns: CrdPrinterColumn[] = [
  { name: 'Namespaces', type: 'string', jsonPath: '.spec.namespaces' },
  { name: 'Selector', type: 'string', jsonPath: '.spec.namespaceSelector' },
  { name: 'Max EIPs', type: 'integer', jsonPath: '.spec.maxEipsPerNamespace' },
  { name: 'Max Mbit/s', type: 'integer', jsonPath: '.spec.allocation.maxBandwidthMbps' },
  { name: 'PrePaid', type: 'boolean', jsonPath: '.spec.allocation.allowPrePaid' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The EIPPolicy CRD; deploy/crds/eippolicies.podeip.io.yaml holds the same object. A fresh copy each call. */
export function eipPolicyCustomResourceDefinition(): CustomResourceDefinition {
  return structuredClone({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${EIP_POLICY_PLURAL}.${EIP_POLICY_GROUP}` },
    spec: {
      group: EIP_POLICY_GROUP,
      names: {
        kind: EIP_POLICY_KIND,
        listKind: `${EIP_POLICY_KIND}List`,
        plural: EIP_POLICY_PLURAL,
        singular: 'eippolicy',
        shortNames: ['eipp'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: EIP_POLICY_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: printerColumns,
          schema: { openAPIV3Schema: eipPolicySchema },
        },
      ],
    },
  } satisfies CustomResourceDefinition);
}
