/**
 * `podeip certs generate` as an admin who manages the webhook's certificates runs it: the built CLI writes
 * a CA, a serving certificate and its key; node:crypto reads them and verifies the chain; `podeip webhook`
 * serves them and a client that trusts only ca.crt connects by the Service's name. Bad usage lists every
 * problem and writes nothing.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLogLine } from './log-lines.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
const CLEAN_ENV = { PATH: process.env.PATH ?? '' };
const scratch = mkdtempSync(join(tmpdir(), 'podeip-certs-cli-'));
const children: ChildProcess[] = [];

const SERVICE_NAMES = [
  'podeip-webhook',
  'podeip-webhook.podeip-system',
  'podeip-webhook.podeip-system.svc',
  'podeip-webhook.podeip-system.svc.cluster.local',
];

function podeip(args: string[]) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: CLEAN_ENV, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command as the install's names need it: the Service podeip-webhook in podeip-system. */
function generateForPodeipWebhook(out: string) {
  return podeip(['certs', 'generate', '--service', 'podeip-webhook', '--namespace', 'podeip-system', '--out', out]);
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A TLS handshake and one GET, trusting only `caPem`, checking the certificate against `servername`. */
function connect(port: number, caPem: string, servername: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername, path: '/healthz', ca: caPem }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('podeip certs generate', () => {
  const out = join(scratch, 'certs');
  let generated: ReturnType<typeof podeip>;

  it('writes ca.crt, tls.crt and tls.key, says so, prints the caBundle and exits 0', () => {
    generated = generateForPodeipWebhook(out);
    expect(generated).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(out).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(statSync(join(out, 'tls.key')).mode & 0o777).toBe(0o600);
    const lines = generated.stdout.trimEnd().split('\n');
    for (const file of ['ca.crt', 'tls.crt', 'tls.key'])
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^wrote ${join(out, file)}: `)));
    expect(lines.at(-2)).toMatch(/^caBundle /);
    expect(lines.at(-1)).toBe(readFileSync(join(out, 'ca.crt')).toString('base64'));
  });

  it('writes a CA and a serving certificate it signed, for every DNS name of the Service', () => {
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    const serving = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    const key = createPrivateKey(readFileSync(join(out, 'tls.key')));
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkPrivateKey(key)).toBe(true);
    expect(serving.subjectAltName?.split(', ').sort()).toEqual(SERVICE_NAMES.map((n) => `DNS:${n}`).sort());
    for (const name of SERVICE_NAMES) expect([name, serving.checkHost(name)]).toEqual([name, name]);
    expect(serving.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    expect(new Date(serving.validTo).getTime()).toBeLessThanOrEqual(new Date(ca.validTo).getTime());
  });

  it('is served by podeip webhook; a client trusting ca.crt connects by the Service’s name, not by another', async () => {
    const args = ['webhook', '--tls-cert', join(out, 'tls.crt'), '--tls-key', join(out, 'tls.key')];
    const webhook = spawn(process.execPath, [cli, ...args, '--port', '0', '--host', '127.0.0.1'], {
      env: CLEAN_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(webhook);
    const { port } = (await firstLogLine(webhook, 'webhook listening')) as { port: number };
    const caPem = readFileSync(join(out, 'ca.crt'), 'utf8');
    expect(await connect(port, caPem, 'podeip-webhook.podeip-system.svc')).toBe(200);
    await expect(connect(port, caPem, 'podeip-webhook.other-namespace.svc')).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    // A CA of someone else's is not trusted.
    const other = join(scratch, 'other');
    expect(podeip(['certs', 'generate', '--service', 'x', '--namespace', 'y', '--out', other]).code).toBe(0);
    await expect(
      connect(port, readFileSync(join(other, 'ca.crt'), 'utf8'), 'podeip-webhook.podeip-system.svc'),
    ).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const exited = new Promise((resolve) => webhook.on('exit', resolve));
    webhook.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('never overwrites: a second run into the same folder exits 2 and leaves the files as they were', () => {
    const before = readFileSync(join(out, 'tls.key'), 'utf8');
    const r = generateForPodeipWebhook(out);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    for (const file of ['ca.crt', 'tls.crt', 'tls.key'])
      expect(r.stderr).toContain(`  - --out: ${join(out, file)} already exists; it is never overwritten\n`);
    expect(readFileSync(join(out, 'tls.key'), 'utf8')).toBe(before);
  });

  it('lists every problem with its usage at once, exits 2 and writes nothing', () => {
    const notAFolder = join(scratch, 'a-file');
    writeFileSync(notAFolder, '');
    const r = podeip([
      'certs',
      'generate',
      '--service',
      '9-Webhook',
      '--validity-days',
      '0',
      '--cluster-domain',
      'bad..domain',
      '--out',
      notAFolder,
    ]);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe(
      [
        'podeip certs generate: bad usage:',
        '  - --service: "9-Webhook" is not a Service name (lower-case letters, digits and "-", starting with a letter, at most 63 characters)',
        '  - --namespace: required',
        '  - --cluster-domain: "bad..domain" is not a DNS domain',
        '  - --validity-days: "0" must be a whole number of days from 1 to 36500',
        `  - --out: ${notAFolder} exists and is not a folder`,
        "Run 'podeip certs generate --help' for its options.",
        '',
      ].join('\n'),
    );
    expect(podeip(['certs', 'generate']).stderr).toContain('  - --service: required\n  - --namespace: required\n');
    expect(podeip(['certs', 'generate']).stderr).toContain('  - --out: required\n');
  });

  it('wants the word generate, and shows its help', () => {
    const r = podeip(['certs', 'make']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^podeip certs: expected "generate" after "certs", got "make"\n/);
    const help = podeip(['certs', 'generate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: podeip certs generate \[options\]/);
    for (const flag of ['--service VALUE', '--namespace VALUE', '--out VALUE']) expect(help.stdout).toContain(flag);
    expect(podeip(['--help']).stdout).toMatch(/\n {2}certs generate {2}Write a CA and a serving certificate/);
  });
});
