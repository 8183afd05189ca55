/** The shape of a `podeip <command>` and the argument parsing they share. */
import { parseArgs } from 'node:util';
import type { SettingSource } from '../api/settings.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
}

/** A command's module; its one-line summary lives in cli/main.ts, which lists commands without loading them. */
export interface Command {
  name: string;
  /** Extra lines of help after the option list. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(values: Record<string, string | boolean | undefined>): Promise<number>;
}

/** Exit codes: 0 done, 1 failed while running, 2 bad usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Flags for every setting a program accepts, plus `--config`. */
export function settingOptions(settings: readonly SettingSource[]): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {
    config: { type: 'string', description: 'configuration file (YAML or JSON); flags and env override it' },
  };
  for (const s of settings) {
    if (s.flag === undefined) continue;
    options[s.flag] = { type: 'string', description: `${s.description}${s.env ? ` [env ${s.env}]` : ''}` };
  }
  return options;
}

export function commandHelp(command: Command, summary: string): string {
  const width = Math.max(...Object.keys(command.options).map((k) => k.length), 4) + 2;
  const lines = [`Usage: podeip ${command.name} [options]`, '', summary, '', 'Options:'];
  for (const [name, spec] of Object.entries(command.options)) {
    const flag = spec.type === 'string' ? `--${name} VALUE` : `--${name}`;
    lines.push(`  ${flag.padEnd(width + 8)}${spec.description}`);
  }
  lines.push(`  ${'--help'.padEnd(width + 8)}show this help`);
  if (command.details) lines.push('', command.details);
  return lines.join('\n');
}

export type ParsedArgs =
  { ok: true; help: boolean; values: Record<string, string | boolean | undefined> } | { ok: false; message: string };

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(command.options)) options[name] = { type: spec.type };
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    const { help, ...rest } = values as Record<string, string | boolean | undefined>;
    return { ok: true, help: help === true, values: rest };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
