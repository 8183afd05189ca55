/**
 * A process of its own for the binder's memory figure, so what it reports is the binder's alone:
 * `binder CONFIG` loads the configuration and runs the binder as `podeip binder` would; `baseline` loads
 * the same modules and nothing else. Both answer `measure` over IPC with process.memoryUsage() after a
 * full GC (run node with --expose-gc), and `stop` by stopping.
 */
import { pino } from 'pino';
import { createLogger } from '../../cli/logger.js';
import { start as startBinder, type RunningBinderProgram } from '../../binder/index.js';
import { loadBinderConfig } from '../../cli/binder-config.js';

export type ChildMessage =
  | { kind: 'started'; port?: number }
  | { kind: 'synced'; afterMs: number }
  | {
      kind: 'memory';
      usage: NodeJS.MemoryUsage;
      synced: boolean;
      peakRss: number;
      peakRssBeforeGc: number;
      cpuSeconds: number;
    }
  | { kind: 'failed'; message: string };

const [mode, configFile] = process.argv.slice(2);
const send = (message: ChildMessage): void => void process.send?.(message);

async function start(): Promise<RunningBinderProgram | undefined> {
  if (mode !== 'binder') return undefined;
  const loaded = loadBinderConfig({ file: configFile as string, flags: {}, env: {} });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const logger = createLogger(
    { level: loaded.config.log.level, name: 'podeip-binder' },
    pino.destination({ dest: 2, sync: false }),
  );
  return startBinder(loaded.config, { logger });
}

async function main(): Promise<void> {
  const began = Date.now();
  const running = await start();
  send({ kind: 'started', ...(running === undefined ? {} : { port: running.port }) });
  if (running !== undefined) {
    const poll = setInterval(() => {
      if (!running.binder.hasSynced()) return;
      clearInterval(poll);
      send({ kind: 'synced', afterMs: Date.now() - began });
    }, 20);
  }
  process.on('message', (message: string) => {
    if (message === 'measure') {
      // The forced collections below need room of their own (compaction copies live objects to new pages),
      // so the peak as it was before them is read first.
      const peakRssBeforeGc = process.resourceUsage().maxRSS * 1024;
      // Twice: the first pass can leave objects that only a second one frees (weak references, finalizers).
      globalThis.gc?.();
      globalThis.gc?.();
      const cpu = process.cpuUsage();
      send({
        kind: 'memory',
        usage: process.memoryUsage(),
        synced: running?.binder.hasSynced() ?? true,
        peakRss: process.resourceUsage().maxRSS * 1024,
        peakRssBeforeGc,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      });
    } else if (message === 'stop') {
      void (running?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    }
  });
}

main().catch((error: unknown) => {
  send({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
