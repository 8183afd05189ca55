/** Log capture shared by the webhook and binder tests: a real pino logger whose lines stay readable. */
import { pino, type Logger } from 'pino';
import { watchedLines, type WatchedLines } from './watched-lines.js';

export interface CapturedLogs extends Pick<WatchedLines<Record<string, unknown>>, 'lines' | 'waitFor'> {
  logger: Logger;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogs(level: pino.LevelWithSilent = 'debug'): CapturedLogs {
  const { lines, add, waitFor } = watchedLines<Record<string, unknown>>('log line', (line) => JSON.stringify(line));
  const logger = pino({ level }, { write: (line: string) => add(JSON.parse(line)) });
  return { logger, lines, waitFor };
}
