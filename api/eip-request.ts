/** The typed form of what a pod's annotations ask for. Pure data; parsing lives in parse-annotations.ts. */
import { echoed } from './echo.js';

export type InternetChargeType = 'PayByTraffic' | 'PayByBandwidth';
export type InstanceChargeType = 'PostPaid' | 'PrePaid';

export type ReleaseStrategy =
  | { type: 'Follow' }
  | { type: 'Never' }
  /** `after` is the user's Go duration as written (e.g. `5m30s`); `seconds` its value. */
  | { type: 'TTL'; after: string; seconds: number };

/** Bind an EIP that already exists (`pod-eip-instanceid`). podeip never releases it. */
export interface StaticEipRequest {
  mode: 'static';
  allocationId: string;
  releaseStrategy: ReleaseStrategy;
}

/** Allocate a new EIP for the pod (`pod-with-eip: "true"`), with every AllocateEipAddress option asked for. */
export interface AutoEipRequest {
  mode: 'auto';
  /** Mbit/s. */
  bandwidth: number;
  internetChargeType: InternetChargeType;
  instanceChargeType: InstanceChargeType;
  isp?: string;
  commonBandwidthPackageId?: string;
  publicIpAddressPoolId?: string;
  resourceGroupId?: string;
  name?: string;
  description?: string;
  securityProtectionTypes?: string[];
  /** User tags from `eip-tags`; podeip adds its ownership tags beside them. */
  tags?: Record<string, string>;
  releaseStrategy: ReleaseStrategy;
}

export type EipRequest = StaticEipRequest | AutoEipRequest;

/** One thing wrong with the annotations, worded so a person can fix it. */
export interface AnnotationProblem {
  /** The full annotation key as the user wrote it (or the keys involved, joined by ` and `). */
  annotation: string;
  /** The value as written; undefined when the problem is a missing or conflicting pair. */
  value?: string;
  /** What is wrong and what is allowed, e.g. `must be an integer from 1 to 200 (PostPaid, PayByTraffic)`. */
  message: string;
}

export type EipAnnotationParse =
  /** No EIP asked for (no annotation, or `pod-with-eip: "false"`). Warnings may note ignored options. */
  | { kind: 'none'; warnings: string[] }
  | { kind: 'request'; request: EipRequest; warnings: string[] }
  | { kind: 'invalid'; problems: AnnotationProblem[]; warnings: string[] };

/** `annotation="value": message`, the form used in denials, conditions and Events; a long value is cut. */
export function describeProblem(p: AnnotationProblem): string {
  return p.value === undefined ? `${p.annotation}: ${p.message}` : `${p.annotation}="${echoed(p.value)}": ${p.message}`;
}
