/** `podeip demo`: the whole system on the sandbox, from `kubectl create` to Ready pods with EIPs and back. */
import { resolve } from 'node:path';
import { pino } from 'pino';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../command.js';
import { LOG_LEVELS, type LogLevel } from '../../api/settings.js';
import { createLogger } from '../logger.js';
import { whenInterrupted } from '../signals.js';

export const demoCommand: Command = {
  name: 'demo',
  details: [
    'Starts the sandbox and installs podeip into it from deploy/overlays/access-key as a cluster admin would (the',
    'sandbox runs the shipped Deployments as processes where it can: Linux, as root). Then creates deploy/examples',
    '(and deploy/examples/refused, which the webhook refuses), prints a timeline, the pods and the cloud’s EIPs, deletes',
    'the examples and waits until podeip has released every EIP it allocated. Exit 1 if that does not happen in time.',
    'With --keep it writes DIR/kubeconfig, DIR/cloud.json and DIR/binder.json, prints "demo ready" and runs until',
    'interrupted, then cleans up.',
  ].join('\n'),
  options: {
    keep: { type: 'boolean', description: 'keep everything running after the report, until Ctrl-C' },
    dir: {
      type: 'string',
      description: 'where --keep writes kubeconfig, cloud.json and binder.json (default .demo; unused without --keep)',
    },
    examples: { type: 'string', description: 'folder of example manifests (default: deploy/examples)' },
    timeout: {
      type: 'string',
      description: 'seconds the examples may take to converge, and to be cleaned up (default 60)',
    },
    'log-level': { type: 'string', description: 'log level of the programs the demo starts, on stderr (default warn)' },
    'in-process': {
      type: 'boolean',
      description: 'run podeip in this process rather than as pods (automatic where pods cannot run as processes)',
    },
  },
  async run(values) {
    const problems: string[] = [];
    const level = (values['log-level'] ?? 'warn') as LogLevel;
    if (!LOG_LEVELS.includes(level)) problems.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    const timeout = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!(Number.isFinite(timeout) && timeout >= 1 && timeout <= 3600))
      problems.push('--timeout must be a number of seconds from 1 to 3600');
    if (problems.length > 0) {
      process.stderr.write(`podeip demo: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return EXIT_USAGE;
    }
    // Logs go to stderr so that stdout is the demo's story alone.
    const stderr = pino.destination({ dest: 2, sync: true });
    const [{ defaultExamplesDir }, { runDemo }] = await Promise.all([
      import('../demo/examples.js'),
      import('../demo/run-demo.js'),
    ]);
    const ok = await runDemo({
      examplesDir: typeof values.examples === 'string' ? resolve(values.examples) : defaultExamplesDir(),
      keep: values.keep === true,
      inProcess: values['in-process'] === true,
      dir: resolve(typeof values.dir === 'string' ? values.dir : '.demo'),
      timeoutMs: timeout * 1000,
      logLevel: level,
      loggerFor: (program) => createLogger({ level, name: program }, stderr),
      writeLog: (line) => void process.stderr.write(`${line}\n`),
      out: (line) => void process.stdout.write(`${line}\n`),
      interrupted: whenInterrupted,
    });
    return ok ? EXIT_OK : EXIT_FAILED;
  },
};
