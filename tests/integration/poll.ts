/**
 * Waiting by polling, for state that sends no event to wait on: a cloud API's asynchronous transitions, a
 * store or a child process read from outside. Every wait has a deadline and says what it last saw.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads until `settled` holds for what was read; throws with `describe` of the last reading when it does not
 * within `timeoutMs`. Always reads at least once.
 */
export async function pollUntil<T>(
  read: () => T | Promise<T>,
  settled: (value: T) => boolean,
  describe: (last: T) => string,
  timeoutMs = 3000,
  intervalMs = 15,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!settled(last)) {
    if (Date.now() >= deadline) throw new Error(`${describe(last)} after ${timeoutMs} ms`);
    await sleep(intervalMs);
    last = await read();
  }
  return last;
}

/** Polls until `check` returns something other than undefined. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  what = 'condition',
  intervalMs = 20,
): Promise<T> {
  const settled = (value: T | undefined): boolean => value !== undefined;
  return (await pollUntil(check, settled, () => `${what} not met`, timeoutMs, intervalMs)) as T;
}
