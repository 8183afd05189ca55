/**
 * The log lines of a `podeip` process reach its standard output even when the process ends right after
 * writing them: returning, calling process.exit, or dying of an uncaught exception or rejection. Each case
 * runs the built logger in a child process that logs more than a pipe holds, so lines are still buffered.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const loggerModule = fileURLToPath(new URL('../../../dist/cli/logger.js', import.meta.url));
/** About 600 kB of lines, ten times what a pipe buffers. */
const LINES_BEFORE = 5000;

/** Runs a child that logs LINES_BEFORE lines, then the last line through `last`, then does `end`. */
function runChild(last: string, end: string) {
  if (!existsSync(loggerModule)) throw new Error(`${loggerModule} is missing: run "make build" first (make test does)`);
  const script = [
    `import { createLogger } from ${JSON.stringify(pathToFileURL(loggerModule).href)};`,
    `const log = createLogger({ level: 'info', name: 'flush-test' });`,
    `for (let n = 0; n < ${LINES_BEFORE}; n++) log.info({ n }, 'filler line, long enough to fill a pipe quickly');`,
    last,
    end,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 20000,
  });
  const lines = r.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { msg: string; n?: number });
  return { code: r.status, stderr: r.stderr, lines };
}

function expectEveryLine(lines: Array<{ msg: string; n?: number }>, lastMessage: string): void {
  expect(lines.filter((line) => line.msg.startsWith('filler')).map((line) => line.n)).toEqual(
    Array.from({ length: LINES_BEFORE }, (_, n) => n),
  );
  expect(lines.at(-1)?.msg).toBe(lastMessage);
}

describe('the logger of a podeip process', () => {
  it('writes the last line when the program returns', () => {
    const r = runChild(`log.info('last line before returning');`, `process.exitCode = 0;`);
    expect(r.code).toBe(0);
    expectEveryLine(r.lines, 'last line before returning');
  });

  it('writes the last line when the program calls process.exit', () => {
    const r = runChild(`log.info('last line before exit');`, `process.exit(3);`);
    expect(r.code).toBe(3);
    expectEveryLine(r.lines, 'last line before exit');
  });

  it('writes the fatal line logged just before an uncaught exception, which Node still reports', () => {
    const r = runChild(
      `log.fatal('fatal line before the crash');`,
      `setImmediate(() => { throw new Error('crash after logging'); });`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('crash after logging');
    expectEveryLine(r.lines, 'fatal line before the crash');
  });

  it('writes the fatal line logged just before an unhandled rejection', () => {
    const r = runChild(
      `log.fatal('fatal line before the rejection');`,
      `Promise.reject(new Error('rejected after logging'));`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rejected after logging');
    expectEveryLine(r.lines, 'fatal line before the rejection');
  });
});
