/**
 * What one admission costs grows with the pod's size, never with its square. Measured without a clock:
 * the pod's lists are wrapped so every read of an item is counted, and the count for a pod ten times the
 * size must be about ten times as large.
 */
import { describe, expect, it } from '@jest/globals';
import { planPodMutation } from '../../../webhook/mutation/plan.js';
import type { PodSpecJson } from '../../../webhook/mutation/pod.js';
import { defaultPolicy, plannerInput } from './admission-fixtures.js';
import { allowed } from './plan-expectations.js';

/** An array whose item reads are counted; everything else about it is the array's own. */
function counted<T>(items: T[], reads: { n: number }): T[] {
  return new Proxy(items, {
    get(target, property, receiver) {
      if (typeof property === 'string' && /^\d+$/.test(property)) reads.n += 1;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** Item reads to plan a pod whose containers, init containers and volumes all take the names podeip would. */
function readsFor(size: number): number {
  const reads = { n: 0 };
  const input = plannerInput('deployment-pod-auto.json');
  const spec = input.pod.spec as PodSpecJson;
  spec.containers = counted(
    Array.from({ length: size }, (_, n) => ({ name: n === 0 ? 'podeip-wait-eip' : `podeip-wait-eip-${n}` })),
    reads,
  );
  spec.initContainers = counted(
    Array.from({ length: size }, (_, n) => ({ name: `podeip-wait-eip-${size + n}`, image: 'x' })),
    reads,
  );
  spec.volumes = counted(
    Array.from({ length: size }, (_, n) => ({
      name: n === 0 ? 'podeip-podinfo' : `podeip-podinfo-${n}`,
      emptyDir: {},
    })),
    reads,
  );
  const plan = allowed(planPodMutation(input, defaultPolicy()));
  expect(plan.patch.map((op) => op.path)).toEqual([
    '/spec/readinessGates',
    '/spec/volumes/-',
    '/spec/initContainers/0',
  ]);
  const names = plan.patch.map((op) => ('value' in op ? (op.value as { name?: string }).name : undefined));
  expect(names.slice(1)).toEqual([`podeip-podinfo-${size}`, `podeip-wait-eip-${2 * size}`]);
  return reads.n;
}

describe('admission cost', () => {
  it('reads each item of a pod a bounded number of times, however the names are chosen', () => {
    const small = readsFor(500);
    const large = readsFor(5000);
    console.log(`item reads: ${small} for 500 items a list, ${large} for 5,000`);
    // Linear: about 10 times as many. The name search before the fix read 5,000 × 10,000 / 2 times.
    expect(large / small).toBeLessThan(12);
    expect(large).toBeLessThan(20 * 3 * 5000);
  });
});
