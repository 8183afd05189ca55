/** How much of a user's input podeip repeats: values cut, lists and messages counted past a few. */
import { describe, expect, it } from '@jest/globals';
import { boundedMessages, echoed, echoedList, MAX_ECHOED_CHARACTERS } from '../../../api/echo.js';

describe('echo bounds', () => {
  it('keeps short values whole and cuts long ones, saying how much was left out', () => {
    expect(echoed('eip-abc')).toBe('eip-abc');
    expect(echoed('x'.repeat(MAX_ECHOED_CHARACTERS))).toBe('x'.repeat(MAX_ECHOED_CHARACTERS));
    expect(echoed('x'.repeat(1000))).toBe(
      `${'x'.repeat(MAX_ECHOED_CHARACTERS)}…(${1000 - MAX_ECHOED_CHARACTERS} more characters)`,
    );
  });

  it('never cuts a character in half', () => {
    const value = `${'x'.repeat(MAX_ECHOED_CHARACTERS - 1)}🦄🦄`;
    const cut = echoed(value);
    expect(cut.startsWith(`${'x'.repeat(MAX_ECHOED_CHARACTERS - 1)}…`)).toBe(true);
    expect(cut).toBe(`${'x'.repeat(MAX_ECHOED_CHARACTERS - 1)}…(2 more characters)`);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('lists five items and counts the rest; keeps five messages and counts the rest', () => {
    expect(echoedList(['a', 'b'])).toBe('"a", "b"');
    expect(echoedList(['1', '2', '3', '4', '5', '6', '7'])).toBe('"1", "2", "3", "4", "5" and 2 more');
    expect(boundedMessages(['a', 'b'])).toEqual(['a', 'b']);
    expect(boundedMessages(['1', '2', '3', '4', '5', '6', '7'])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      'and 2 more problems like these',
    ]);
  });
});
