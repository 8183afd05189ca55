/** `podeip binder`: the controller that binds EIPs to pods and flips their readiness condition. */
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, settingOptions } from '../command.js';
import { createLogger } from '../logger.js';
import { stopOnSignals } from '../signals.js';
import { loadBinderConfig, readPodNamespace } from '../binder-config.js';
import * as binder from '../../binder/index.js';

export const binderCommand: Command = {
  name: 'binder',
  details: [
    'With neither --kubeconfig nor KUBECONFIG it uses the pod’s service account (in a cluster).',
    'Serves /healthz, /readyz (200 once the caches have synced, leader or standby) and /metrics on --port.',
    'SIGTERM or SIGINT: stop acting, finish reconciles under way, release the lease, exit 0.',
  ].join('\n'),
  options: {
    ...settingOptions(binder.binderSettings),
    'check-config': {
      type: 'boolean',
      description: 'validate the configuration and the files it names, print it, and exit',
    },
  },
  async run(values) {
    const loaded = loadBinderConfig({
      ...(typeof values.config === 'string'
        ? { file: values.config }
        : process.env.PODEIP_CONFIG
          ? { file: process.env.PODEIP_CONFIG }
          : {}),
      flags: values,
      env: process.env,
      ...podNamespaceIfAny(),
    });
    const problems = loaded.ok ? binder.referencedFileProblems(loaded.config) : loaded.problems;
    if (!loaded.ok || problems.length > 0) {
      process.stderr.write(`podeip binder: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return EXIT_USAGE;
    }
    const config = loaded.config;
    if (values['check-config'] === true) {
      // The configuration holds paths, never the credentials themselves, so it can be shown whole.
      process.stdout.write(`configuration is valid\n${JSON.stringify(config, null, 2)}\n`);
      return EXIT_OK;
    }
    const logger = createLogger({ level: config.log.level, name: 'podeip-binder' });
    const missing = binder.missingNodeOptions();
    if (missing.length > 0) {
      logger.info(
        { missing, recommended: `NODE_OPTIONS="${binder.BINDER_NODE_OPTIONS.join(' ')}"` },
        'started without the Node.js options the binder is sized for; its memory peaks higher',
      );
    }
    let running;
    try {
      running = await binder.start(config, { logger });
    } catch (err) {
      logger.fatal({ err }, 'binder failed to start');
      return EXIT_FAILED;
    }
    try {
      await stopOnSignals(running, logger);
      return EXIT_OK;
    } catch (err) {
      logger.error({ err }, 'binder did not shut down cleanly');
      return EXIT_FAILED;
    }
  },
};

function podNamespaceIfAny(): { podNamespace?: string } {
  const namespace = readPodNamespace();
  return namespace === undefined ? {} : { podNamespace: namespace };
}
