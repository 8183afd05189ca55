import { describe, expect, it } from '@jest/globals';
import { annotationKeys } from '../../api/annotations.js';

describe('annotationKeys', () => {
  it('lists both prefixes and the legacy form', () => {
    expect(annotationKeys('withEip')).toEqual([
      'k8s.aliyun.com/pod-with-eip',
      'network.alibabacloud.com/pod-with-eip',
      'k8s.aliyun.com/eci-with-eip',
    ]);
  });
});
