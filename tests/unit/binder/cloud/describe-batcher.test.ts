/**
 * The batcher on its own, with a scripted describe behind it: who shares which call, what goes at once,
 * and which callers a failed call fails.
 */
import { describe, expect, it } from '@jest/globals';
import { DescribeBatcher } from '../../../../binder/cloud/describe-batcher.js';
import type { EipState } from '../../../../binder/cloud/eip-cloud.js';
import { eip as anEip } from '../decide-fixtures.js';

function eip(allocationId: string): EipState {
  return anEip({ allocationId, ipAddress: '47.0.0.1' });
}

/** Answers every id except those starting with `gone`; a chunk holding a `fail` id rejects. */
function scriptedDescribe(): {
  calls: string[][];
  describeChunk: (ids: string[]) => Promise<ReadonlyMap<string, EipState>>;
} {
  const calls: string[][] = [];
  return {
    calls,
    describeChunk: async (ids) => {
      calls.push(ids);
      if (ids.some((id) => id.startsWith('fail'))) throw new Error(`chunk with ${ids[0]} failed`);
      return new Map(ids.filter((id) => !id.startsWith('gone')).map((id) => [id, eip(id)]));
    },
  };
}

describe('DescribeBatcher', () => {
  it('sends what arrives within the window in one call and answers each caller in its own order', async () => {
    const script = scriptedDescribe();
    const batcher = new DescribeBatcher(script.describeChunk, { windowMs: 20 });
    const [first, second] = await Promise.all([
      batcher.describe(['b', 'a']),
      batcher.describe(['a', 'gone-1', 'c', 'c']),
    ]);
    expect(first.map((item) => item.allocationId)).toEqual(['b', 'a']);
    expect(second.map((item) => item.allocationId)).toEqual(['a', 'c']);
    expect(script.calls).toEqual([['b', 'a', 'gone-1', 'c']]);
  });

  it('does not wait for the window once 50 ids are waiting', async () => {
    const script = scriptedDescribe();
    const batcher = new DescribeBatcher(script.describeChunk, { windowMs: 60_000 });
    const ids = Array.from({ length: 50 }, (_, index) => `eip-${index}`);
    const answers = await Promise.all(ids.map((id) => batcher.describe([id])));
    expect(answers.flat()).toHaveLength(50);
    expect(script.calls).toHaveLength(1);
  });

  it('splits a large ask into calls of 50 and answers it from all of them', async () => {
    const script = scriptedDescribe();
    const batcher = new DescribeBatcher(script.describeChunk, { windowMs: 5 });
    const ids = Array.from({ length: 120 }, (_, index) => `eip-${index}`);
    expect((await batcher.describe(ids)).map((item) => item.allocationId)).toEqual(ids);
    expect(script.calls.map((call) => call.length)).toEqual([50, 50, 20]);
  });

  it('fails the callers a failed call served, and only them', async () => {
    const script = scriptedDescribe();
    const batcher = new DescribeBatcher(script.describeChunk, { windowMs: 5, maxIdsPerCall: 2 });
    const results = await Promise.allSettled([batcher.describe(['a']), batcher.describe(['b', 'fail-1', 'c'])]);
    // The second ask takes the batch past 2 ids, so it goes at once as [a, b] and [fail-1, c].
    expect(script.calls).toEqual([
      ['a', 'b'],
      ['fail-1', 'c'],
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect(results[1]).toMatchObject({ reason: new Error('chunk with fail-1 failed') });
  });

  it('gives each caller its own copy', async () => {
    const script = scriptedDescribe();
    const batcher = new DescribeBatcher(script.describeChunk, { windowMs: 5 });
    const [first, second] = await Promise.all([batcher.describe(['a']), batcher.describe(['a'])]);
    (first[0] as EipState).tags.mutated = 'yes';
    expect(second[0]?.tags.mutated).toBeUndefined();
    expect(first[0]?.tags.mutated).toBe('yes');
  });

  it('answers an empty ask at once, with no call', async () => {
    const script = scriptedDescribe();
    expect(await new DescribeBatcher(script.describeChunk, { windowMs: 5 }).describe([])).toEqual([]);
    expect(script.calls).toEqual([]);
  });
});
