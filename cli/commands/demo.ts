/** `podeip demo`: the system running locally. Until the sandbox exists it tours the webhook. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK } from '../command.js';
import { createLogger } from '../logger.js';
import { runWebhookTour } from '../demo/webhook-tour.js';

/** deploy/examples, found from this file both in the source tree and in dist/. */
function defaultExamplesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromDist = join(here, '..', '..', '..', 'deploy', 'examples');
  const fromSource = join(here, '..', '..', 'deploy', 'examples');
  return here.includes(`${join('dist', 'cli')}`) ? fromDist : fromSource;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run podeip locally: start the webhook with a throw-away certificate and show what it does to example pods.',
  options: {
    examples: { type: 'string', description: 'folder of example manifests (default: deploy/examples)' },
    'log-level': { type: 'string', description: 'log level of the programs the demo starts (default: warn)' },
  },
  async run(values) {
    const logger = createLogger({ level: (values['log-level'] as 'warn' | undefined) ?? 'warn', name: 'podeip-demo' });
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    const ok = await runWebhookTour({
      examplesDir: typeof values.examples === 'string' ? values.examples : defaultExamplesDir(),
      logger,
      out,
    });
    out('');
    out(ok ? 'demo finished: every pod was handled as expected' : 'demo finished: some answers were not as expected');
    return ok ? EXIT_OK : EXIT_FAILED;
  },
};
