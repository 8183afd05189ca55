#!/usr/bin/env node
/** `podeip <command>`: one entry point for every program in the package. */
import { commandHelp, EXIT_OK, EXIT_USAGE, parseCommandArgs, type Command } from './command.js';

interface CommandEntry {
  name: string;
  /** A word that must follow the name (`podeip certs generate`); the command's own name includes it. */
  subcommand?: string;
  summary: string;
  /** Loaded only when named, so one command never pays for (or needs) another's modules and packages. */
  load(): Promise<Command>;
  /** Runs from a checkout of the repository only: the published package leaves it and its packages out. */
  checkoutOnly?: boolean;
}

const commands: readonly CommandEntry[] = [
  {
    name: 'webhook',
    summary:
      'Serve POST /mutate-v1-pod (AdmissionReview admission.k8s.io/v1) over HTTPS, with /healthz, /readyz and /metrics.',
    load: async () => (await import('./commands/webhook.js')).webhookCommand,
  },
  {
    name: 'binder',
    summary:
      'Allocate or take each pod’s EIP, associate it with the pod’s IP, record it in a PodEIP and set the pod’s condition; release what podeip allocated.',
    load: async () => (await import('./commands/binder.js')).binderCommand,
  },
  {
    name: 'certs',
    subcommand: 'generate',
    summary:
      'Write a CA and a serving certificate for the webhook’s Service (ca.crt, tls.crt, tls.key) and print the caBundle, for certificates you manage yourself.',
    load: async () => (await import('./commands/certs.js')).certsGenerateCommand,
  },
  {
    name: 'drain',
    summary:
      'Before uninstalling: unbind and release every EIP podeip allocated in this cluster and remove its finalizers (run with the binder stopped).',
    load: async () => (await import('./commands/drain.js')).drainCommand,
  },
  {
    name: 'sandbox',
    summary: 'Run local stand-ins for the Kubernetes API and the Alibaba Cloud API until interrupted.',
    load: async () => (await import('./commands/sandbox.js')).sandboxCommand,
    checkoutOnly: true,
  },
  {
    name: 'demo',
    summary:
      'Run podeip on local stand-ins for Kubernetes and Alibaba Cloud: example pods get their EIPs and turn Ready; then clean up.',
    load: async () => (await import('./commands/demo.js')).demoCommand,
    checkoutOnly: true,
  },
];

function usage(): string {
  const label = (c: CommandEntry) => (c.subcommand === undefined ? c.name : `${c.name} ${c.subcommand}`);
  const width = Math.max(...commands.map((c) => label(c).length)) + 2;
  return [
    'Usage: podeip <command> [options]',
    '',
    'Gives chosen Kubernetes pods on Alibaba Cloud their own Elastic IP, and keeps each pod out of service until its EIP works.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${label(c).padEnd(width)}${c.summary}`),
    '',
    "Run 'podeip <command> --help' for a command's options.",
  ].join('\n');
}

/** The command's module, or undefined when this install leaves a checkout-only command out. */
async function loadCommand(entry: CommandEntry): Promise<Command | undefined> {
  try {
    return await entry.load();
  } catch (err) {
    if (entry.checkoutOnly === true && (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(`podeip: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const command = await loadCommand(entry);
  if (command === undefined) {
    process.stderr.write(
      `podeip ${entry.name}: not part of this install; it runs from a checkout of the podeip repository (make ${entry.name})\n`,
    );
    return EXIT_USAGE;
  }
  let args = rest;
  if (entry.subcommand !== undefined) {
    const [word, ...after] = rest;
    if (word === entry.subcommand) {
      args = after;
    } else if (word !== '--help' && word !== '-h') {
      const got = word === undefined ? 'nothing' : `"${word}"`;
      process.stderr.write(
        `podeip ${entry.name}: expected "${entry.subcommand}" after "${entry.name}", got ${got}\n\n${commandHelp(command, entry.summary)}\n`,
      );
      return EXIT_USAGE;
    }
  }
  const parsed = parseCommandArgs(command, args);
  if (!parsed.ok) {
    process.stderr.write(`podeip ${command.name}: ${parsed.message}\n\n${commandHelp(command, entry.summary)}\n`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    process.stdout.write(`${commandHelp(command, entry.summary)}\n`);
    return EXIT_OK;
  }
  return command.run(parsed.values);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`podeip: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
