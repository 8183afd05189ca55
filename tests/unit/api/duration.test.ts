import { describe, expect, it } from '@jest/globals';
import { formatGoDuration, parseGoDuration } from '../../../api/duration.js';

describe('parseGoDuration', () => {
  // Mostly Go's own time.ParseDuration cases, in seconds.
  it.each<[string, number]>([
    ['0', 0],
    ['+0', 0],
    ['0s', 0],
    ['5s', 5],
    ['+5s', 5],
    ['1478s', 1478],
    ['5.0s', 5],
    ['5.6s', 5.6],
    ['5.s', 5],
    ['.5s', 0.5],
    ['1.004s', 1.004],
    ['100.00100s', 100.001],
    ['10ns', 1e-8],
    ['11us', 11e-6],
    ['12\u00b5s', 12e-6],
    ['12\u03bcs', 12e-6],
    ['13ms', 0.013],
    ['15m', 900],
    ['10m', 600],
    ['16h', 57600],
    ['1.5h', 5400],
    ['3h30m', 12600],
    ['5m30s', 330],
    ['10.5s4m', 250.5],
    ['1h2m3s4ms5us6ns', 3723.004005006],
    ['39h9m14.425s', 140954.425],
    ['9223372036854775807ns', 9223372036.854776],
  ])('%s is %d seconds', (s, seconds) => {
    expect(parseGoDuration(s)).toBeCloseTo(seconds, 9);
  });

  it.each([
    '',
    '3',
    '10',
    '-',
    '+',
    's',
    '.',
    '.s',
    '+.s',
    '-5s',
    '-0',
    '1d',
    '5M',
    '5 m',
    ' 5m',
    '5m ',
    '1.5.5h',
    '1e3s',
    '1h-5m',
    '0x10s',
    'forever',
    '9223372036854775808ns',
    '3000000h',
  ])('rejects %j', (s) => {
    expect(parseGoDuration(s)).toBeUndefined();
  });
});

describe('formatGoDuration', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [1, '1s'],
    [45, '45s'],
    [59, '59s'],
    [60, '1m0s'],
    [61, '1m1s'],
    [330, '5m30s'],
    [600, '10m0s'],
    [3600, '1h0m0s'],
    [3661, '1h1m1s'],
    [5400.5, '1h30m0.5s'],
    [86400, '24h0m0s'],
    [1.5, '1.5s'],
    [0.25, '250ms'],
    [0.0015, '1.5ms'],
    [0.000001, '1\u00b5s'],
    [1e-9, '1ns'],
    [-330, '-5m30s'],
  ])('%d seconds is %s', (seconds, text) => {
    expect(formatGoDuration(seconds)).toBe(text);
  });

  it('refuses what is not a number of seconds', () => {
    expect(() => formatGoDuration(Number.NaN)).toThrow(RangeError);
    expect(() => formatGoDuration(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it.each([
    ['10m', '10m0s'],
    ['1.5h', '1h30m0s'],
    ['5m30s', '5m30s'],
    ['90s', '1m30s'],
    ['2h0m0s', '2h0m0s'],
  ])('writes %s the way Go does: %s', (written, goForm) => {
    expect(formatGoDuration(parseGoDuration(written) ?? Number.NaN)).toBe(goForm);
  });
});
