/**
 * Reads an action's flat parameters (`Tag.1.Key`, `ResourceId.2`, `AllocationId=a,b`) the way the API
 * validates them, throwing the documented error for the first problem found.
 */
import { CloudApiError, invalidParameter, missingParameter } from './errors.js';

export class RequestParams {
  constructor(private readonly values: Readonly<Record<string, string>>) {}

  /** Everything, for ClientToken fingerprints. */
  all(): Readonly<Record<string, string>> {
    return this.values;
  }

  has(name: string): boolean {
    return this.values[name] !== undefined && this.values[name] !== '';
  }

  optional(name: string): string | undefined {
    const value = this.values[name];
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw missingParameter(name);
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, errorCode?: string): T {
    const value = this.optional(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    if (errorCode !== undefined)
      throw new CloudApiError(errorCode, {
        message: `Specified value of "${name}" is not supported: ${value}. Allowed: ${allowed.join(', ')}.`,
      });
    throw invalidParameter(name, `${value} is not one of ${allowed.join(', ')}`);
  }

  integer(name: string, range: { min: number; max: number }, fallback: number): number;
  integer(name: string, range: { min: number; max: number }): number | undefined;
  integer(name: string, range: { min: number; max: number }, fallback?: number): number | undefined {
    const value = this.optional(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw invalidParameter(name, `${value} is not an integer`);
    const parsed = Number(value);
    if (parsed < range.min || parsed > range.max)
      throw invalidParameter(name, `${value} is outside ${range.min}–${range.max}`);
    return parsed;
  }

  boolean(name: string): boolean {
    const value = this.optional(name);
    if (value === undefined) return false;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw invalidParameter(name, `${value} is neither true nor false`);
  }

  /** `Name.1`, `Name.2`, … in index order (the SDK numbers repeat lists from 1). */
  list(name: string, max: number): string[] {
    const pattern = new RegExp(`^${escapeRegExp(name)}\\.(\\d+)$`);
    const indexed: Array<[number, string]> = [];
    for (const [key, value] of Object.entries(this.values)) {
      const match = pattern.exec(key);
      if (match?.[1] !== undefined && value !== '') indexed.push([Number(match[1]), value]);
    }
    indexed.sort((a, b) => a[0] - b[0]);
    if (indexed.length > max)
      throw invalidParameter(`${name}.N`, `at most ${max} values are accepted, got ${indexed.length}`);
    return indexed.map(([, value]) => value);
  }

  /** `Name=a,b,c`. */
  commaList(name: string, max: number): string[] | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length > max)
      throw invalidParameter(name, `at most ${max} comma-separated values are accepted, got ${items.length}`);
    return items;
  }

  /** `Tag.N.Key` / `Tag.N.Value` pairs in index order; a value may be absent (key-only filters). */
  tags(prefix = 'Tag'): Array<{ key: string; value: string | undefined }> {
    const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)\\.(Key|Value)$`);
    const byIndex = new Map<number, { key?: string; value?: string }>();
    for (const [name, value] of Object.entries(this.values)) {
      const match = pattern.exec(name);
      if (match?.[1] === undefined) continue;
      const entry = byIndex.get(Number(match[1])) ?? {};
      if (match[2] === 'Key') entry.key = value;
      else entry.value = value;
      byIndex.set(Number(match[1]), entry);
    }
    return [...byIndex.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, entry]) => {
        if (entry.key === undefined || entry.key === '') {
          throw new CloudApiError('InvalidTagKey', {
            message: `The tag keys are not valid: ${prefix}.${index}.Key is missing or empty.`,
          });
        }
        return { key: entry.key, value: entry.value };
      });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
