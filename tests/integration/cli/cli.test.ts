/** The built `podeip` command as a user runs it: help, bad usage and bad configuration. */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

function podeip(args: string[], env: Record<string, string> = {}) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 20000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('podeip CLI', () => {
  it('lists its commands', () => {
    const r = podeip(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: podeip <command>/);
    expect(r.stdout).toMatch(/\n {2}webhook {2,}/);
    expect(r.stdout).toMatch(/\n {2}demo {2,}/);
  });

  it('shows help for a command, with each flag and its environment variable', () => {
    const r = podeip(['webhook', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: podeip webhook \[options\]/);
    for (const flag of ['--tls-cert VALUE', '--tls-key VALUE', '--port VALUE', '--config VALUE'])
      expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('[env PODEIP_TLS_CERT]');
  });

  it('rejects an unknown command and an unknown flag with exit code 2', () => {
    expect(podeip(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(podeip(['webhook', '--prot', '1'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Unknown option '--prot'"),
    });
  });

  it('stops at start on a bad configuration, listing every problem', () => {
    const r = podeip(['webhook', '--port', '99999'], { PODEIP_LOG_LEVEL: 'chatty' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('podeip webhook: invalid configuration:');
    // No certificate file named and no pod around it: self-managed mode has no namespace to keep a Secret in.
    expect(r.stderr).toContain(
      '  - certificates.namespace: is required in self-managed mode outside a pod (podeip runs in it); ' +
        'or serve certificate files with --tls-cert and --tls-key',
    );
    expect(r.stderr).toContain('  - listen.port: must be <= 65535 (from --port)');
    expect(r.stderr).toMatch(/ {2}- log\.level: must be one of .* \(from environment PODEIP_LOG_LEVEL\)/);
  });

  it('fails clearly when the certificate file does not exist', () => {
    const r = podeip([
      'webhook',
      '--tls-cert',
      '/nonexistent/tls.crt',
      '--tls-key',
      '/nonexistent/tls.key',
      '--port',
      '0',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('/nonexistent/tls.crt');
  });
});
