/**
 * The fast path of the body parser may skip Fastify's poisoning check only for texts that check could never
 * reject. Here Fastify's own parser is the judge: every spelling of the two keys it refuses (each letter
 * literal or escaped, hex in either case) must send the text down the checked path.
 */
import { describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyBodyParser } from 'fastify';
import { readFileSync } from 'node:fs';
import { mayHoldPoisonedKey } from '../../../webhook/server/json-body.js';

const fastifyParser = Fastify().getDefaultJsonParser('error', 'error') as FastifyBodyParser<string>;

/** Whether Fastify's own JSON parser refuses the text. */
function fastifyRefuses(text: string): boolean {
  let refused = false;
  fastifyParser({} as never, text, (err) => {
    refused = err !== null;
  });
  return refused;
}

function escaped(char: string, upper: boolean): string {
  const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
}

/** Spellings of `word`: `mask` bit i escapes letter i; `upper` picks the hex case. */
function spelling(word: string, mask: number, upper: boolean): string {
  return [...word].map((char, i) => ((mask >> i) & 1 ? escaped(char, upper) : char)).join('');
}

describe('mayHoldPoisonedKey', () => {
  it.each(['__proto__', 'constructor'])('is true for every spelling of "%s" that Fastify refuses', (word) => {
    let checked = 0;
    // Every single escape, every pair of escapes, and all letters escaped, in both hex cases.
    const masks = new Set<number>([0, (1 << word.length) - 1]);
    for (let i = 0; i < word.length; i++) {
      masks.add(1 << i);
      for (let j = i + 1; j < word.length; j++) masks.add((1 << i) | (1 << j));
    }
    for (const mask of masks) {
      for (const upper of [false, true]) {
        const text = `{"request":{"object":{"${spelling(word, mask, upper)}":{"prototype":{"x":1}}}}}`;
        expect(fastifyRefuses(text)).toBe(true);
        expect(mayHoldPoisonedKey(text)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(94);
  });

  it('is false for admission reviews as kube-apiserver writes them, escapes for <, > and & included', () => {
    const review = JSON.parse(
      readFileSync(new URL('../../fixtures/admission/deployment-pod-auto.json', import.meta.url), 'utf8'),
    );
    review.request.object.metadata.labels.note = 'a && b < c > d \u2028';
    const text = JSON.stringify(review)
      .replace(/&/g, '\\u0026')
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/\u2028/g, '\\u2028');
    expect(text).toContain('a \\u0026\\u0026 b \\u003c c \\u003e d \\u2028');
    expect(fastifyRefuses(text)).toBe(false);
    expect(mayHoldPoisonedKey(text)).toBe(false);
  });

  it('is true, and so leaves the verdict to Fastify, when a value merely mentions a word', () => {
    const text = '{"metadata":{"annotations":{"note":"the constructor of __proto__"}}}';
    expect(mayHoldPoisonedKey(text)).toBe(true);
    expect(fastifyRefuses(text)).toBe(false);
  });
});
