/** How many bound pods a verification period looks at, and which. */
import { describe, expect, it } from '@jest/globals';
import { BoundKeyRotation, verificationBudget } from '../../../binder/controller/verification.js';
import { podEip } from './decide-fixtures.js';

const named = (name: string) => ({ ...podEip(), metadata: { ...podEip().metadata, name } });

describe('verification', () => {
  it('uses at most a quarter of the Describe limit per period, in calls that carry one id per worker', () => {
    const cloud = { rateLimitsPerMinute: { DescribeEipAddresses: 600 } } as never;
    expect(verificationBudget({ verifySeconds: 90, cloud, workers: 32 })).toBe(225 * 32);
    expect(verificationBudget({ verifySeconds: 90, cloud, workers: 1 })).toBe(225);
    // A call carries 50 ids at most, however many workers share it.
    expect(verificationBudget({ verifySeconds: 90, cloud, workers: 200 })).toBe(225 * 50);
    expect(verificationBudget({ verifySeconds: 5, cloud: { rateLimitsPerMinute: {} } as never, workers: 1 })).toBe(12);
  });

  it('looks at every bound pod when they fit, and takes turns when they do not', () => {
    const bound = ['a', 'b', 'c', 'd', 'e'].map(named);
    expect(new BoundKeyRotation(() => bound, 10).next()).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e']);
    const rotation = new BoundKeyRotation(() => bound, 2);
    expect([rotation.next(), rotation.next(), rotation.next()]).toEqual([
      ['ns/a', 'ns/b'],
      ['ns/c', 'ns/d'],
      ['ns/e', 'ns/a'],
    ]);
  });
});
