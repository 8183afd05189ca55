/**
 * Bounds on what podeip repeats of a user's input: in a denial, a warning, a condition, an Event or a log
 * line, a value is cut to MAX_ECHOED_CHARACTERS and a list to MAX_ECHOED_ITEMS, with the rest counted.
 * Without them a 3 MB annotation comes back as a 25 MB answer and log line (each problem quoting it).
 */

/** Enough to recognise any legitimate value (ids are 24 characters, a tag value at most 128). */
export const MAX_ECHOED_CHARACTERS = 128;
/** Items of a list repeated before the rest is only counted. */
export const MAX_ECHOED_ITEMS = 5;

/** `value`, or its first MAX_ECHOED_CHARACTERS characters (never half a surrogate pair) and how many more there are. */
export function echoed(value: string, max = MAX_ECHOED_CHARACTERS): string {
  if (value.length <= max) return value;
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  let rest = 0;
  for (const _ of value.slice(end)) rest += 1;
  return `${value.slice(0, end)}…(${rest} more characters)`;
}

/** `"a", "b"` for the first MAX_ECHOED_ITEMS items, each echoed, then `and N more`. */
export function echoedList(items: readonly string[], max = MAX_ECHOED_ITEMS): string {
  const shown = items.slice(0, max).map((item) => `"${echoed(item)}"`);
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

/** The first `max` messages, then one that counts the rest: a problem is reported, not every instance of it. */
export function boundedMessages(messages: readonly string[], max = MAX_ECHOED_ITEMS): string[] {
  if (messages.length <= max) return [...messages];
  return [...messages.slice(0, max), `and ${messages.length - max} more problems like these`];
}
