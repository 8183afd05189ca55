/**
 * Flow control as the real API does it: per account × region × API, fixed windows ("throttled in minute
 * T, allowed again in minute T+1"), answered with 400 `Throttling.User` and `x-acs-retry-after` in ms.
 */
import { CloudApiError } from './errors.js';

/** Published limits per 60 s (EIP quota page); actions not listed get DEFAULT_PER_MINUTE. */
export const PUBLISHED_PER_MINUTE: Readonly<Record<string, number>> = {
  AllocateEipAddress: 120,
  AssociateEipAddress: 120,
  UnassociateEipAddress: 120,
  DescribeEipAddresses: 600,
  ReleaseEipAddress: 600,
};
/** Not published for the other actions; generous, so only the documented ones bite by default. */
export const DEFAULT_PER_MINUTE = 600;
export const DEFAULT_WINDOW_MS = 60_000;

export interface RateLimitSettings {
  scale: number;
  windowMs: number;
  /** Absolute limits per window that replace the scaled defaults. */
  perWindow: Record<string, number>;
}

export class RateLimiter {
  private settings: RateLimitSettings;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly now: () => number,
    settings: Partial<RateLimitSettings> = {},
  ) {
    this.settings = { scale: 1, windowMs: DEFAULT_WINDOW_MS, perWindow: {} };
    this.configure(settings);
  }

  configure(settings: Partial<RateLimitSettings>): void {
    if (settings.scale !== undefined && !(settings.scale > 0))
      throw new Error(`rate limits: scale must be > 0, got ${settings.scale}`);
    if (settings.windowMs !== undefined && !(Number.isInteger(settings.windowMs) && settings.windowMs > 0)) {
      throw new Error(`rate limits: windowMs must be a positive integer, got ${settings.windowMs}`);
    }
    for (const [action, limit] of Object.entries(settings.perWindow ?? {})) {
      if (!(Number.isInteger(limit) && limit >= 0))
        throw new Error(`rate limits: ${action} must be a whole number >= 0, got ${limit}`);
    }
    this.settings = {
      scale: settings.scale ?? this.settings.scale,
      windowMs: settings.windowMs ?? this.settings.windowMs,
      perWindow: { ...this.settings.perWindow, ...settings.perWindow },
    };
    // Counts from windows of another length mean nothing in the new one.
    if (settings.windowMs !== undefined) this.windows.clear();
  }

  limitFor(action: string): number {
    const explicit = this.settings.perWindow[action];
    if (explicit !== undefined) return explicit;
    return Math.max(1, Math.floor((PUBLISHED_PER_MINUTE[action] ?? DEFAULT_PER_MINUTE) * this.settings.scale));
  }

  /** Counts one call, or throws Throttling.User when the bucket's window is full. */
  take(bucket: { accountId: string; regionId: string; action: string }): void {
    const key = `${bucket.accountId}/${bucket.regionId}/${bucket.action}`;
    const now = this.now();
    const { windowMs } = this.settings;
    const start = now - (now % windowMs);
    let window = this.windows.get(key);
    if (window === undefined || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(key, window);
    }
    const limit = this.limitFor(bucket.action);
    if (window.count >= limit) {
      const retryAfterMs = Math.max(1, start + windowMs - now);
      throw new CloudApiError('Throttling.User', {
        message: `Request was denied due to user flow control: ${bucket.action} is limited to ${limit} calls per ${windowMs} ms for this account and region.`,
        headers: { 'x-acs-retry-after': String(retryAfterMs) },
      });
    }
    window.count += 1;
  }
}
