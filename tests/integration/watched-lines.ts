/** Lines that arrive over time (log lines, a child's output) and a wait for the first that matches. */

export interface WatchedLines<T> {
  /** Every line so far, in arrival order. */
  lines: T[];
  /** Records arrived lines and wakes the waits they may satisfy. */
  add(...arrived: T[]): void;
  /** Resolves with the first line, already there or still to come, for which `match` is true. */
  waitFor(match: (line: T) => boolean, timeoutMs?: number): Promise<T>;
}

/**
 * `what` names the lines in the error of a wait that times out, which lists every line so far, each
 * written by `show`.
 */
export function watchedLines<T>(what: string, show: (line: T) => string): WatchedLines<T> {
  const lines: T[] = [];
  const waiters = new Set<() => boolean>();
  return {
    lines,
    add(...arrived) {
      lines.push(...arrived);
      for (const check of [...waiters]) check();
    },
    waitFor: (match, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.find(match);
          if (found === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching ${what} within ${timeoutMs} ms; got:\n${lines.map(show).join('\n')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
  };
}
