/**
 * 10,000 hostile AdmissionReviews over real HTTPS, from a seeded generator (a failure names its seed and
 * case): wrong types anywhere, huge and deeply nested bodies, unicode and lone surrogates, shell, JSON
 * Pointer and prototype tricks in annotation keys and values, wrong versions, UPDATE, DELETE and CONNECT.
 * The webhook must answer every one below 500, every patch must apply to the pod it was made for, and its
 * heap must end where it started.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { Agent } from 'node:https';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createPrng } from '../../../sandbox/cloud/prng.js';
import { admissionFixture, admissionFixtureNames, callWebhook, startTlsWebhook, type TlsWebhook } from './support.js';

const CASES = 10_000;
const SEED = Number(process.env.PODEIP_FUZZ_SEED ?? 20261204);
const CONCURRENCY = 8;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FIXTURES = admissionFixtureNames().map((name) => admissionFixture(name));

const EIP_KEYS = [
  'k8s.aliyun.com/pod-with-eip',
  'k8s.aliyun.com/pod-eip-instanceid',
  'k8s.aliyun.com/eip-bandwidth',
  'k8s.aliyun.com/eip-internet-charge-type',
  'k8s.aliyun.com/eip-instance-charge-type',
  'k8s.aliyun.com/eip-tags',
  'k8s.aliyun.com/eip-security-protection-types',
  'k8s.aliyun.com/pod-eip-release-strategy',
  'k8s.aliyun.com/allocated-eipAddress',
  'podeip.io/inject',
  'podeip.io/eip-handover',
];

const NASTY_STRINGS = [
  '',
  ' ',
  'true',
  'TRUE ',
  'false',
  '0',
  '-1',
  '1e309',
  '5.5',
  'NaN',
  '$(reboot)',
  '`id`',
  '"; rm -rf / #',
  "'; DROP TABLE eips; --",
  'a\nb\r\nc',
  '\u0000',
  '\ud800',
  '\udfff lone',
  '🦄'.repeat(50),
  '\u202eevil',
  'eip-' + 'a'.repeat(20),
  '{"a":"b"}',
  '{"__proto__":{"x":1}}',
  '[]',
  '~0~1/..',
  '/spec/containers/0',
  '%2e%2e%2f',
  'Never',
  '5m',
  '-5m',
  '999999999h',
  'readiness-gate,init-container',
  'none,readiness-gate',
  'AntiDDoS_Enhanced,'.repeat(20),
];

/** Where a deeply nested value goes into the body's text. */
const NESTED_MARK = '\u0000nested\u0000';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (max: number): number => Math.floor(random() * max);
  const text = (): string => {
    const roll = random();
    if (roll < 0.6) return pick(NASTY_STRINGS);
    if (roll < 0.9) return Array.from({ length: int(40) }, () => String.fromCharCode(int(0xffff))).join('');
    return pick(NASTY_STRINGS).repeat(1 + int(2000));
  };
  const value = (depth = 0): Json => {
    const roll = random();
    if (roll < 0.15) return null;
    if (roll < 0.25) return random() < 0.5;
    if (roll < 0.4) return pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
    if (roll < 0.7 || depth > 3) return text();
    if (roll < 0.85) return Array.from({ length: int(4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: int(4) }, () => [text(), value(depth + 1)]));
  };
  /** JSON text nested `depth` deep, written directly: JSON.stringify itself cannot go that deep. */
  const nestedText = (depth: number): string => {
    const opens: string[] = [];
    const closes: string[] = [];
    for (let i = 0; i < depth; i += 1) {
      const array = random() < 0.5;
      opens.push(array ? '[' : '{"n":');
      closes.push(array ? ']' : '}');
    }
    return `${opens.join('')}"bottom"${closes.reverse().join('')}`;
  };

  /** parent[key] when it is a plain object; a new one put there when it is absent; a detached one otherwise. */
  const child = (parent: Record<string, Json>, key: string): Record<string, Json> => {
    const found = parent[key];
    if (found === undefined) return (parent[key] = {});
    return found !== null && typeof found === 'object' && !Array.isArray(found) ? found : {};
  };

  /** Every object and array inside `root`, with the key that leads to it from its parent. */
  const containers = (root: Json): Array<{ parent: Record<string, Json> | Json[]; key: string | number }> => {
    const found: Array<{ parent: Record<string, Json> | Json[]; key: string | number }> = [];
    const walk = (node: Json): void => {
      if (Array.isArray(node))
        node.forEach((child, index) => {
          found.push({ parent: node, key: index });
          walk(child);
        });
      else if (node !== null && typeof node === 'object')
        for (const [key, child] of Object.entries(node)) {
          found.push({ parent: node, key });
          walk(child);
        }
    };
    walk(root);
    return found;
  };

  return function hostileReview(): { body: string; kind: string } {
    const review = structuredClone(pick(FIXTURES)) as unknown as Record<string, Json>;
    const mutations = 1 + int(3);
    const kinds: string[] = [];
    let nestedDepth = 0;
    for (let m = 0; m < mutations; m += 1) {
      // Read afresh each time: an earlier mutation may have replaced any of these with another type.
      const request = child(review, 'request');
      const object = child(request, 'object');
      const roll = random();
      if (roll < 0.3) {
        // A field anywhere gets a value of another type.
        kinds.push('wrong-type');
        const spot = pick(containers(review));
        (spot.parent as Record<string, Json>)[spot.key as string] = value();
      } else if (roll < 0.5) {
        kinds.push('annotation');
        const annotations = child(child(object, 'metadata'), 'annotations');
        annotations[random() < 0.8 ? pick(EIP_KEYS) : text()] = random() < 0.9 ? text() : value();
      } else if (roll < 0.6) {
        kinds.push('operation');
        request.operation = pick(['UPDATE', 'DELETE', 'CONNECT', 'create', 'PATCH', '']);
        if (request.operation === 'DELETE') request.object = null;
        if (request.operation === 'UPDATE') request.oldObject = structuredClone(request.object) as Json;
      } else if (roll < 0.7) {
        kinds.push('version');
        review.apiVersion = pick(['admission.k8s.io/v1beta1', 'admission.k8s.io/v2', 'v1', '', null, 7]);
        if (random() < 0.5) review.kind = pick(['AdmissionRequest', 'Pod', '', null]);
      } else if (roll < 0.78) {
        kinds.push('request-kind');
        request.kind = random() < 0.5 ? { group: 'apps', version: 'v1', kind: 'Deployment' } : value();
        if (random() < 0.5) request.subResource = pick(['status', 'ephemeralcontainers', 'binding', text()]);
      } else if (roll < 0.86) {
        kinds.push('lists');
        const spec = child(object, 'spec');
        const field = pick(['containers', 'initContainers', 'ephemeralContainers', 'volumes', 'readinessGates']);
        const base = field === 'volumes' ? 'podeip-podinfo' : 'podeip-wait-eip';
        spec[field] = Array.from({ length: int(300) }, (_, n) =>
          random() < 0.8 ? { name: n === 0 ? base : `${base}-${n}` } : value(),
        );
      } else if (roll < 0.9) {
        kinds.push('nested');
        const spec = child(object, 'spec');
        spec.nested = NESTED_MARK;
        nestedDepth = 100 + int(100_000);
      } else if (roll < 0.93) {
        kinds.push('huge');
        child(child(object, 'metadata'), 'annotations')[pick(EIP_KEYS)] = 'x,'.repeat(100_000 + int(400_000));
      } else if (roll < 0.97) {
        kinds.push('prototype');
        const target = pick(containers(review));
        const holder = (target.parent as Record<string, Json>)[target.key as string];
        if (holder !== null && typeof holder === 'object' && !Array.isArray(holder))
          Object.defineProperty(holder, pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']), {
            value: value(),
            enumerable: true,
            configurable: true,
            writable: true,
          });
      } else {
        kinds.push('uid');
        request.uid = value();
      }
    }
    let body = JSON.stringify(review);
    if (nestedDepth > 0) body = body.replace(JSON.stringify(NESTED_MARK), nestedText(nestedDepth));
    // Sometimes not even JSON, or JSON cut short.
    if (random() < 0.01) body = body.slice(0, int(body.length));
    return { body, kind: kinds.join('+') };
  };
}

let webhook: TlsWebhook;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

// Warn: the info line per decision is the audit trail, but 10,000 of them kept in memory would be the test's own leak.
beforeAll(async () => (webhook = await startTlsWebhook({ logLevel: 'warn' })));
afterAll(async () => {
  agent.destroy();
  await webhook.stop();
});

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('fuzzing the admission endpoint', () => {
  it(`answers ${CASES} hostile reviews below 500, with patches that apply, in flat memory`, async () => {
    const next = fuzzer(createPrng(SEED).next);
    const counts = { answered: 0, byStatus: new Map<number, number>(), patched: 0, denied: 0, allowed: 0 };
    const failures: string[] = [];
    // A first round the size of the concurrency warms every path, so what follows measures growth, not startup.
    for (let i = 0; i < 200; i += 1) await callWebhook(webhook, '/mutate-v1-pod', { body: next().body, agent });
    const before = heapAfterGc();
    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < CASES) {
        const at = (index += 1);
        const { body, kind } = next();
        const answer = await callWebhook(webhook, '/mutate-v1-pod', { body, agent });
        counts.answered += 1;
        counts.byStatus.set(answer.status, (counts.byStatus.get(answer.status) ?? 0) + 1);
        const where = `case ${at} (${kind}, seed ${SEED})`;
        if (answer.status >= 500) failures.push(`${where}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
        if (answer.status !== 200) continue;
        const review = JSON.parse(answer.body) as {
          response: { allowed: boolean; patch?: string; patchType?: string };
        };
        if (!review.response.allowed) {
          counts.denied += 1;
          continue;
        }
        if (review.response.patch === undefined) {
          counts.allowed += 1;
          continue;
        }
        counts.patched += 1;
        const sent = JSON.parse(body) as { request: { object: { spec?: { nested?: unknown } } } };
        // Nothing the patch touches, and too deep for the structuredClone below.
        delete sent.request.object.spec?.nested;
        try {
          const patch = JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as Operation[];
          fastJsonPatch.applyPatch(structuredClone(sent.request.object), patch, true, false);
          // The container podeip adds takes a name no container of the pod has.
          const spec = sent.request.object.spec as Record<string, unknown> | undefined;
          const taken = new Set(
            ['containers', 'initContainers', 'ephemeralContainers']
              .flatMap((field) => (Array.isArray(spec?.[field]) ? (spec[field] as unknown[]) : []))
              .map((container) => (container as { name?: unknown } | null)?.name),
          );
          const added = patch.flatMap((op) =>
            op.op === 'add' && op.path.startsWith('/spec/initContainers')
              ? [Array.isArray(op.value) ? (op.value[0] as { name: string }).name : (op.value as { name: string }).name]
              : [],
          );
          for (const name of added)
            if (taken.has(name)) failures.push(`${where}: the patch adds a taken name, ${name}`);
        } catch (error) {
          failures.push(`${where}: the patch does not apply: ${(error as Error).message.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const after = heapAfterGc();
    const statuses = [...counts.byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    console.log(
      `fuzz (seed ${SEED}): ${counts.answered} reviews; HTTP ${statuses}; ${counts.patched} patched, ` +
        `${counts.denied} denied, ${counts.allowed} allowed unchanged; heap after GC ` +
        `${(before / 2 ** 20).toFixed(1)} MB before, ${(after / 2 ** 20).toFixed(1)} MB after`,
    );
    expect(failures).toEqual([]);
    expect(counts.answered).toBe(CASES);
    expect(counts.patched).toBeGreaterThan(100);
    expect(counts.denied).toBeGreaterThan(100);
    // Flat: what a leak of one small object per review would already exceed.
    expect(after - before).toBeLessThan(16 * 2 ** 20);
  }, 600_000);
});
