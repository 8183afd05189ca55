/**
 * Every pod annotation of ACK's EIP controller (docs/annotations.md), under both prefixes, plus the legacy
 * ECI forms. Keys are listed by their suffix; `annotationKeys(suffix)` gives the full keys.
 */

export const ANNOTATION_PREFIXES = ['k8s.aliyun.com/', 'network.alibabacloud.com/'] as const;

/** Suffixes a user may set; each is accepted under every prefix in ANNOTATION_PREFIXES. */
export const EIP_ANNOTATION_SUFFIXES = {
  withEip: 'pod-with-eip',
  instanceId: 'pod-eip-instanceid',
  releaseStrategy: 'pod-eip-release-strategy',
  bandwidth: 'eip-bandwidth',
  internetChargeType: 'eip-internet-charge-type',
  instanceChargeType: 'eip-instance-charge-type',
  commonBandwidthPackageId: 'eip-common-bandwidth-package-id',
  isp: 'eip-isp',
  publicIpAddressPoolId: 'eip-public-ip-address-pool-id',
  resourceGroupId: 'eip-resource-group-id',
  name: 'eip-name',
  description: 'eip-description',
  securityProtectionTypes: 'eip-security-protection-types',
  tags: 'eip-tags',
} as const;

export type EipAnnotationField = keyof typeof EIP_ANNOTATION_SUFFIXES;

/** Older spellings kept by ACK for compatibility, mapped to the field they stand for. */
export const LEGACY_EIP_ANNOTATIONS: Readonly<Record<string, EipAnnotationField>> = {
  'k8s.aliyun.com/eci-with-eip': 'withEip',
  'k8s.aliyun.com/eci-eip-instanceid': 'instanceId',
  'k8s.aliyun.com/eip-charge-type': 'internetChargeType',
};

/** All full keys that stand for one field, in the order they are reported. */
export function annotationKeys(field: EipAnnotationField): string[] {
  const suffix = EIP_ANNOTATION_SUFFIXES[field];
  const keys: string[] = ANNOTATION_PREFIXES.map((p) => p + suffix);
  for (const [legacy, f] of Object.entries(LEGACY_EIP_ANNOTATIONS)) if (f === field) keys.push(legacy);
  return keys;
}

/** Every full key of every field: both prefixes and the legacy forms. A pod with none asks for no EIP. */
export const EIP_ANNOTATION_KEYS: ReadonlySet<string> = new Set(
  (Object.keys(EIP_ANNOTATION_SUFFIXES) as EipAnnotationField[]).flatMap((field) => annotationKeys(field)),
);

/**
 * podeip's own per-pod override of what the webhook injects: a comma-separated list of
 * `readiness-gate`, `init-container`, or the single word `none`. Absent: the webhook's configuration decides.
 */
export const INJECT_OVERRIDE_ANNOTATION = 'podeip.io/inject';
export const INJECT_OVERRIDE_VALUES = ['readiness-gate', 'init-container', 'none'] as const;
