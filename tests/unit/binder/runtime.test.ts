import { describe, expect, it } from '@jest/globals';
import { BINDER_NODE_OPTIONS, missingNodeOptions } from '../../../binder/runtime.js';

describe('missingNodeOptions', () => {
  it('names every recommended option a process started without', () => {
    expect(missingNodeOptions([], '')).toEqual([...BINDER_NODE_OPTIONS]);
    expect(missingNodeOptions(['--expose-gc'], '--max-old-space-size=512')).toEqual([...BINDER_NODE_OPTIONS]);
  });

  it('finds them on the command line, in NODE_OPTIONS, or split between the two, in either spelling', () => {
    expect(missingNodeOptions([...BINDER_NODE_OPTIONS], '')).toEqual([]);
    expect(missingNodeOptions([], `  ${BINDER_NODE_OPTIONS.join('   ')} `)).toEqual([]);
    expect(missingNodeOptions(['--v8-pool-size=1'], '--max_semi_space_size=4')).toEqual([]);
    expect(missingNodeOptions(['--v8-pool-size=2'], '--max-semi-space-size=4')).toEqual(['--v8-pool-size=1']);
  });
});
