/** `podeip webhook`: the mutating admission webhook over HTTPS. */
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, settingOptions } from '../command.js';
import { readPodNamespace } from '../binder-config.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { stopOnSignals } from '../signals.js';
import * as webhook from '../../webhook/index.js';

export const webhookCommand: Command = {
  name: 'webhook',
  details:
    'With --tls-cert/--tls-key the files are re-read when they change (a mounted Secret rotating). With ' +
    '--certificates self-managed the webhook keeps its CA and certificate in a Secret, renews them and keeps its ' +
    'MutatingWebhookConfiguration as podeip builds it (docs/certificates.md).',
  options: settingOptions(webhook.webhookSettings),
  async run(values) {
    const podNamespace = process.env.POD_NAMESPACE || readPodNamespace();
    const loaded = loadConfig({
      settings: webhook.webhookSettings,
      file: typeof values.config === 'string' ? values.config : process.env.PODEIP_CONFIG,
      flags: values,
      env: process.env,
      check: (raw, sourceOf) =>
        webhook.validateWebhookConfig(raw, { sourceOf, ...(podNamespace ? { podNamespace } : {}) }),
    });
    if (!loaded.ok) {
      process.stderr.write(
        `podeip webhook: invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      return EXIT_USAGE;
    }
    const logger = createLogger({ level: loaded.config.log.level, name: 'podeip-webhook' });
    let running;
    try {
      running = await webhook.start(loaded.config, { logger });
    } catch (err) {
      logger.fatal({ err }, 'webhook failed to start');
      return EXIT_FAILED;
    }
    try {
      await stopOnSignals(running, logger);
      return EXIT_OK;
    } catch (err) {
      logger.error({ err }, 'webhook did not shut down cleanly');
      return EXIT_FAILED;
    }
  },
};
