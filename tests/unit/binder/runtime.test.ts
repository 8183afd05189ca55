import { describe, expect, it } from '@jest/globals';
import { BINDER_NODE_OPTIONS, missingNodeOptions } from '../../../binder/runtime.js';

describe('missingNodeOptions', () => {
  it('names every recommended option a process started without', () => {
    expect(missingNodeOptions([], '')).toEqual([...BINDER_NODE_OPTIONS]);
    expect(missingNodeOptions(['--expose-gc'], '--max-semi-space-sizes=4')).toEqual([...BINDER_NODE_OPTIONS]);
  });

  it('finds them on the command line, in NODE_OPTIONS, or split between the two, in either spelling', () => {
    expect(missingNodeOptions([...BINDER_NODE_OPTIONS], '')).toEqual([]);
    expect(missingNodeOptions([], `  ${BINDER_NODE_OPTIONS.join('   ')} `)).toEqual([]);
    expect(missingNodeOptions(['--v8-pool-size=1'], '--max_semi_space_size=4 --max-old-space-size=256')).toEqual([]);
    expect(missingNodeOptions(['--v8-pool-size=1'], '--max-semi-space-size=4')).toEqual(['--max-old-space-size=256']);
  });

  it('counts an option given with a value of its own as given: a larger heap for a larger cluster is a choice', () => {
    expect(missingNodeOptions(['--v8-pool-size=2'], '--max-semi-space-size=8 --max-old-space-size=1024')).toEqual([]);
  });
});
