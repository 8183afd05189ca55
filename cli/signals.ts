/** How a `podeip` command waits for SIGTERM or SIGINT: once, letting go of both signals on the first. */
import type { Logger } from 'pino';

/** Resolves on the first SIGINT or SIGTERM, and then lets go of both. */
export function whenInterrupted(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Stops `running` on the first SIGTERM or SIGINT, once, and resolves when it has stopped (rejects if the
 * shutdown failed). The handlers are removed on that first signal, so a second one gets Node's default
 * action and ends a shutdown that hangs.
 */
export function stopOnSignals(
  running: { stop(): Promise<void> },
  logger: Logger,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    function onSignal(signal: NodeJS.Signals): void {
      for (const s of signals) process.removeListener(s, onSignal);
      logger.info({ signal }, 'signal received; shutting down');
      running.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    }
    for (const signal of signals) process.on(signal, onSignal);
  });
}
