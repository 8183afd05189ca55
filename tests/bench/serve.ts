/**
 * A server for the benchmark, run in its own process so the load generator does not share its event loop:
 * `webhook` is podeip's real webhook with the default settings (log level info, its lines on stdout, which
 * the parent sends to a file); `bare` is a plain Fastify HTTPS route that parses the same body and answers
 * with canned JSON of the same size; `bare-batched` is that route answering through the webhook's
 * inTurnBatches, so that the webhook's own work can be told from what batching saves any route. The parent
 * gets the port over IPC.
 */
import { validateWebhookConfig } from '../../webhook/config/validate.js';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { createLogger } from '../../cli/logger.js';
import { loadConfig } from '../../cli/config.js';
import { webhookSettings } from '../../webhook/config/schema.js';
import { start as startWebhook } from '../../webhook/index.js';
import { inTurnBatches } from '../../webhook/server/in-turn-batches.js';

const [kind, certFile, keyFile, cannedFile] = process.argv.slice(2);

async function serve(): Promise<number> {
  if (kind === 'webhook') {
    const loaded = loadConfig({
      check: (raw, sourceOf) => validateWebhookConfig(raw, { sourceOf }),
      settings: webhookSettings,
      // Only what the benchmark needs to run it; every other setting is the default users get.
      flags: { 'tls-cert': certFile, 'tls-key': keyFile, port: '0', host: '127.0.0.1' },
      env: {},
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const logger = createLogger({ level: loaded.config.log.level, name: 'podeip-webhook' });
    const running = await startWebhook(loaded.config, { logger });
    return running.port;
  }
  const canned = readFileSync(cannedFile as string, 'utf8');
  const app = Fastify({
    https: { cert: readFileSync(certFile as string), key: readFileSync(keyFile as string), minVersion: 'TLSv1.2' },
    bodyLimit: 7 * 1024 * 1024,
  });
  if (kind === 'bare-batched')
    app.post(
      '/mutate-v1-pod',
      inTurnBatches((_req, reply) => void reply.type('application/json').send(canned)),
    );
  else app.post('/mutate-v1-pod', async (_req, reply) => reply.type('application/json').send(canned));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

serve().then(
  (port) => process.send?.({ port }),
  (err: unknown) => {
    process.stderr.write(`bench server failed: ${String(err)}\n`);
    process.exit(1);
  },
);
