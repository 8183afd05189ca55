/** Reading a `podeip` program's JSON log lines from its stdout, for the tests that start the built CLI. */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with the first JSON log line whose msg is `msg`; rejects with the program's stderr if it exits
 * first. Attach before the line can come (right after spawn).
 */
export function firstLogLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) resolve(entry);
      }
    });
    child.on('exit', (code) => reject(new Error(`podeip exited with ${code} before "${msg}":\n${stderr}`)));
  });
}
