/** `podeip drain`: before an uninstall, unbind and release everything podeip allocated in this cluster. */
import { loadKubeConfig } from '../../api/kube/api-clients.js';
import * as binder from '../../binder/index.js';
import { loadBinderConfig, readPodNamespace } from '../binder-config.js';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../command.js';
import { createLogger } from '../logger.js';

export const drainCommand: Command = {
  name: 'drain',
  details: [
    'Reads the binder’s configuration (the same file: its cluster id, region, credentials and Lease). Refuses while a',
    'binder holds the Lease: scale the binder Deployment to 0 first. Then unbinds every EIP carrying the cluster’s',
    'ownership tags and every static EIP a PodEIP records as bound, releases the tagged ones (a PrePaid EIP cannot',
    'be released: it is only unbound, and named), takes podeip’s finalizer off every PodEIP, and prints each step.',
    'Safe to run again. Exit 0 when done, 1 when refused or when the cloud or the API failed.',
  ].join('\n'),
  options: {
    config: { type: 'string', description: 'the binder’s configuration file (YAML or JSON)' },
    kubeconfig: {
      type: 'string',
      description: 'kubeconfig file (default: the file’s setting, KUBECONFIG, else the pod’s service account)',
    },
  },
  async run(values) {
    const namespace = readPodNamespace();
    const loaded = loadBinderConfig({
      ...(typeof values.config === 'string' ? { file: values.config } : {}),
      flags: typeof values.kubeconfig === 'string' ? { kubeconfig: values.kubeconfig } : {},
      env: process.env,
      ...(namespace === undefined ? {} : { podNamespace: namespace }),
    });
    if (!loaded.ok) {
      process.stderr.write(
        `podeip drain: invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      return EXIT_USAGE;
    }
    const config = loaded.config;
    // Its own lines are the report; the log says only what went wrong.
    const logger = createLogger({ level: 'warn', name: 'podeip-drain' });
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    try {
      const kubeConfig = loadKubeConfig(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig });
      const report = await binder.drain(config, { logger, kubeConfig, out });
      const did = report.released + report.unbound + report.keptPrepaid + report.finalizersRemoved;
      out(
        did === 0
          ? `drain done: nothing of cluster ${config.clusterId} left to undo`
          : `drain done: ${report.released} released, ${report.unbound} unbound, ${report.keptPrepaid} PrePaid kept, ` +
              `${report.finalizersRemoved} finalizers removed`,
      );
      return EXIT_OK;
    } catch (error) {
      process.stderr.write(`podeip drain: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
  },
};
