/**
 * Periodic verification of bound EIPs. Every verifySeconds the acting binder looks again at the pods whose
 * PodEIP says InUse; each look is a DescribeEipAddresses the describe batcher shares among up to 50 EIPs,
 * and decideBound flips the condition and binds again when the cloud disagrees. A period's keys are queued
 * at once, so the workers look at them side by side and their describes share calls of up to `workers` ids
 * (at most 50). The looks per period are capped so that those calls use at most a quarter of the Describe
 * rate limit, leaving the rest for binding; with more bound pods than that, each period takes the next
 * slice, so every one is verified within a few periods. With the defaults (600 a minute, 90 s, 32
 * workers) that is 7,200 pods a period.
 */
import type { PodEIP } from '../../api/podeip.js';
import { DEFAULT_RATE_LIMITS_PER_MINUTE } from '../cloud/alibaba-eip-cloud.js';
import { MAX_IDS_PER_DESCRIBE } from '../cloud/describe-batcher.js';
import type { BinderConfig } from '../config/types.js';

/** The share of the Describe limit verification may use. */
const VERIFICATION_SHARE = 0.25;

/** Looks per verification period, from the configured Describe limit and the ids a call carries. */
export function verificationBudget(config: Pick<BinderConfig, 'verifySeconds' | 'cloud' | 'workers'>): number {
  const perMinute =
    config.cloud.rateLimitsPerMinute.DescribeEipAddresses ?? DEFAULT_RATE_LIMITS_PER_MINUTE.DescribeEipAddresses;
  const calls = Math.max(1, Math.floor(perMinute * (config.verifySeconds / 60) * VERIFICATION_SHARE));
  return calls * Math.min(config.workers, MAX_IDS_PER_DESCRIBE);
}

/** The bound keys to verify this period: all of them, or the next `budget` of them in turn. */
export class BoundKeyRotation {
  private offset = 0;

  constructor(
    private readonly bound: () => PodEIP[],
    private readonly budget: number,
  ) {}

  next(): string[] {
    const keys = this.bound()
      .map((podEip) => `${podEip.metadata.namespace ?? ''}/${podEip.metadata.name ?? ''}`)
      .sort();
    if (keys.length <= this.budget) return keys;
    const start = this.offset % keys.length;
    this.offset = start + this.budget;
    return [...keys.slice(start), ...keys].slice(0, this.budget);
  }
}
