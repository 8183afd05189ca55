/**
 * A small seeded generator (mulberry32) so that a seed repeats the same ids, addresses and fault draws.
 * Not for secrets: access keys come from node:crypto.
 */

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  below(bound: number): number;
  /** `length` characters drawn from `alphabet`. */
  chars(length: number, alphabet: string): string;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (bound: number): number => Math.floor(next() * bound);
  const chars = (length: number, alphabet: string): string => {
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[below(alphabet.length)];
    return out;
  };
  return { next, below, chars };
}

/** Independent streams from one seed, so drawing ids does not shift the fault sequence. */
export function deriveSeed(seed: number, stream: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, stream * 2 + 1) ^ (stream * 0x85ebca6b)) >>> 0;
}
