import { describe, expect, it } from '@jest/globals';
import { isRecord } from '../../../api/is-record.js';

describe('isRecord', () => {
  it('accepts objects with fields, parsed or built', () => {
    expect(isRecord(JSON.parse('{"a":1}'))).toBe(true);
    expect(isRecord({})).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
  });

  it('refuses null, arrays and every other JSON value', () => {
    for (const value of JSON.parse('[null, [], [{"a":1}], "{}", 0, true]') as unknown[]) {
      expect({ value, record: isRecord(value) }).toEqual({ value, record: false });
    }
    expect(isRecord(undefined)).toBe(false);
  });

  it('narrows to the type the caller names', () => {
    const labels: unknown = JSON.parse('{"app":"web"}');
    if (!isRecord<Record<string, string>>(labels)) throw new Error('expected a record');
    const copy: Record<string, string> = { ...labels };
    expect(copy).toEqual({ app: 'web' });
  });
});
