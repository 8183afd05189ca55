#!/usr/bin/env node
/** `podeip <command>`: one entry point for every program in the package. */
import { commandHelp, EXIT_OK, EXIT_USAGE, parseCommandArgs, type Command } from './command.js';
import { webhookCommand } from './commands/webhook.js';
import { binderCommand } from './commands/binder.js';
import { demoCommand } from './commands/demo.js';
import { sandboxCommand } from './commands/sandbox.js';

const commands: Command[] = [webhookCommand, binderCommand, sandboxCommand, demoCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: podeip <command> [options]',
    '',
    'Gives chosen Kubernetes pods on Alibaba Cloud their own Elastic IP, and keeps each pod out of service until its EIP works.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    "Run 'podeip <command> --help' for a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`podeip: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const parsed = parseCommandArgs(command, rest);
  if (!parsed.ok) {
    process.stderr.write(`podeip ${command.name}: ${parsed.message}\n\n${commandHelp(command)}\n`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    process.stdout.write(`${commandHelp(command)}\n`);
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
