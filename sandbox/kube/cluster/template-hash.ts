/**
 * controller.ComputeHash: FNV-32a over the pod template (plus the collision count), rendered with
 * SafeEncodeString, so names look like the real ones (`web-5d4f7c9b8`). The real one hashes Go's printed
 * struct; this one hashes canonical JSON, which is stable across runs in the same way.
 */

/** apimachinery's rand.SafeEncodeString alphabet: no vowels, no look-alike digits. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * What Go's typed structs make of JSON: a null field and an empty list read as absent (kubectl rollout undo
 * sends `creationTimestamp: null` in the template, and Semantic.DeepEqual ignores it). Empty objects stay:
 * `emptyDir: {}` means something.
 */
export function withoutGoZeroValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutGoZeroValues);
  if (value === null || typeof value !== 'object') return value;
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === null || item === undefined || (Array.isArray(item) && item.length === 0)) continue;
    kept[key] = withoutGoZeroValues(item);
  }
  return kept;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function safeEncode(text: string): string {
  let out = '';
  for (const char of text) out += SAFE_ALPHABET[char.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

export function podTemplateHash(template: unknown, collisionCount = 0): string {
  return safeEncode(
    String(fnv32a(canonicalJson(withoutGoZeroValues(template)) + (collisionCount > 0 ? `#${collisionCount}` : ''))),
  );
}
