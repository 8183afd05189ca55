/**
 * ServingCertificateReloader's decisions, driven by reloadIfChanged() (what the periodic check calls), with
 * real files and real certificates. The live-server side (setSecureContext on HTTPS) is in
 * tests/integration/webhook/https.test.ts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { pino } from 'pino';
import { generateCa, generateServingCert, type PemPair } from '../../../certs/generate.js';
import { checkServingPair, readServingPair, ServingCertificateReloader } from '../../../webhook/server/tls.js';

const ca = generateCa({ commonName: 'reloader test CA', validityDays: 1 });
const serving = (): PemPair =>
  generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: [], validityDays: 1 });
const first = serving();
const second = serving();

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-reloader-'));
  dirs.push(dir);
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const write = (pair: { certPem: string; keyPem: string }) => {
    writeFileSync(files.certFile, pair.certPem);
    writeFileSync(files.keyFile, pair.keyPem);
  };
  write(first);
  const initial = await readServingPair(files);
  const installed: SecureContextOptions[] = [];
  const errors: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void (JSON.parse(line).level === 50 && errors.push(JSON.parse(line))) },
  );
  const reloader = new ServingCertificateReloader(
    // Records what the HTTPS server would be given.
    { setSecureContext: (options) => void installed.push(options) },
    {
      ...files,
      minVersion: 'TLSv1.2',
      reloadIntervalSeconds: 0,
      logger,
      initial,
      initialIdentity: checkServingPair(initial, files, 'TLSv1.2'),
    },
  );
  return { files, write, reloader, installed, errors };
}

const fingerprint = (pair: PemPair) => new X509Certificate(pair.certPem).fingerprint256;

describe('ServingCertificateReloader.reloadIfChanged', () => {
  it('does nothing while the files hold the pair in use', async () => {
    const { reloader, installed } = await setUp();
    expect(await reloader.reloadIfChanged()).toBe('unchanged');
    expect(installed).toEqual([]);
  });

  it('installs a new valid pair, with the configured minimum TLS version', async () => {
    const { write, reloader, installed } = await setUp();
    write(second);
    expect(await reloader.reloadIfChanged()).toBe('reloaded');
    expect(installed).toHaveLength(1);
    expect(String(installed[0]?.cert)).toBe(second.certPem);
    expect(installed[0]?.minVersion).toBe('TLSv1.2');
    expect(reloader.current.fingerprint256).toBe(fingerprint(second));
    expect(await reloader.reloadIfChanged()).toBe('unchanged');
  });

  it('rejects a key that does not match, reports it once, and takes the pair once it is fixed', async () => {
    const { files, reloader, installed, errors } = await setUp();
    writeFileSync(files.certFile, second.certPem); // the key still belongs to the first certificate
    expect(await reloader.reloadIfChanged()).toBe('rejected');
    expect(await reloader.reloadIfChanged()).toBe('unchanged');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      current: fingerprint(first),
      reason: expect.stringContaining('does not match the certificate'),
    });
    expect(reloader.current.fingerprint256).toBe(fingerprint(first));

    writeFileSync(files.keyFile, second.keyPem);
    expect(await reloader.reloadIfChanged()).toBe('reloaded');
    expect(installed).toHaveLength(1);
  });

  it('rejects a file that is not a certificate', async () => {
    const { files, reloader, installed, errors } = await setUp();
    writeFileSync(files.certFile, 'not a certificate\n');
    expect(await reloader.reloadIfChanged()).toBe('rejected');
    expect(String(errors[0]?.reason)).toContain(
      `TLS certificate file "${files.certFile}" does not hold a PEM certificate`,
    );
    expect(installed).toEqual([]);
  });

  it('keeps trying while a file is missing', async () => {
    const { files, reloader, write } = await setUp();
    renameSync(files.keyFile, `${files.keyFile}.moved`);
    expect(await reloader.reloadIfChanged()).toBe('unreadable');
    expect(await reloader.reloadIfChanged()).toBe('unreadable');
    write(second);
    expect(await reloader.reloadIfChanged()).toBe('reloaded');
  });

  it('runs one check at a time: a call during a check joins it', async () => {
    const { write, reloader, installed } = await setUp();
    write(second);
    const [a, b] = [reloader.reloadIfChanged(), reloader.reloadIfChanged()];
    expect(a).toBe(b);
    expect(await a).toBe('unchanged'); // the second pass of the joined check finds nothing new
    expect(installed).toHaveLength(1);
  });
});
