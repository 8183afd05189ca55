/** Log capture shared by the webhook and binder tests: a real pino logger whose lines stay readable. */
import { pino, type Logger } from 'pino';

export interface CapturedLogs {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line, already written or still to come, for which `match` is true. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogs(level: pino.LevelWithSilent = 'debug'): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines.push(JSON.parse(line));
        for (const wake of waiters) wake();
      },
    },
  );
  const waitFor: CapturedLogs['waitFor'] = (match, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.find(match);
        if (found === undefined) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) waiters.add(wake);
    });
  return { logger, lines, waitFor };
}
