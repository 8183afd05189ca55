/**
 * Go's `time.ParseDuration` and `Duration.String()`: ACK reads `pod-eip-release-strategy` with the former
 * and writes PodEIP `spec.allocationType.releaseAfter` with the latter, so podeip must agree with both.
 */

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // MICRO SIGN, as Go prints it
  ['\u03bcs', 1_000n], // GREEK SMALL LETTER MU, which Go also accepts
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/** Go durations are int64 nanoseconds; anything longer (about 292 years) is an error there too. */
const MAX_NS = 2n ** 63n - 1n;

/** One `[digits][.digits]unit` term; the unit is every character up to the next digit or dot, as in Go. */
const TERM = /([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/y;

/**
 * Seconds (possibly fractional) for a Go duration such as `10m`, `1.5h`, `5m30s` or `300ms`; undefined for
 * anything Go would reject, and for negative durations, which podeip has no use for.
 */
export function parseGoDuration(s: string): number | undefined {
  let rest = s.startsWith('+') ? s.slice(1) : s;
  if (rest.startsWith('-')) return undefined;
  if (rest === '0') return 0;
  if (rest === '') return undefined;

  let total = 0n;
  while (rest !== '') {
    TERM.lastIndex = 0;
    const m = TERM.exec(rest);
    if (!m || m[0] === '') return undefined;
    const [term, whole = '', frac, unitName = ''] = m;
    if (whole === '' && (frac === undefined || frac === '')) return undefined;
    const unit = NS_PER_UNIT.get(unitName);
    if (unit === undefined) return undefined;

    total += BigInt(whole || '0') * unit;
    // Go drops the part of a fraction finer than a nanosecond rather than rounding it.
    if (frac) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    if (total > MAX_NS) return undefined;
    rest = rest.slice(term.length);
  }
  return Number(total) / 1e9;
}

/**
 * Go's `Duration.String()` for a number of seconds: `330` → `5m30s`, `600` → `10m0s`, `3600` → `1h0m0s`,
 * `1.5` → `1.5s`, `0.25` → `250ms`, `0` → `0s`. Rounds to whole nanoseconds, as a Go Duration holds.
 */
export function formatGoDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) throw new RangeError(`not a duration: ${seconds}`);
  const ns = BigInt(Math.round(seconds * 1e9));
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;

  if (u === 0n) return '0s';
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${withFraction(u, 3)}\u00b5s`;
  if (u < 1_000_000_000n) return `${sign}${withFraction(u, 6)}ms`;

  const secondsText = withFraction(u % 60_000_000_000n, 9);
  const totalMinutes = u / 60_000_000_000n;
  if (totalMinutes === 0n) return `${sign}${secondsText}s`;
  const hours = totalMinutes / 60n;
  const minutes = totalMinutes % 60n;
  return hours === 0n ? `${sign}${minutes}m${secondsText}s` : `${sign}${hours}h${minutes}m${secondsText}s`;
}

/** `v / 10^digits` written with its fraction, trailing zeros (and a bare dot) left out, as Go's fmtFrac does. */
function withFraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const fraction = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction === '' ? `${v / scale}` : `${v / scale}.${fraction}`;
}
