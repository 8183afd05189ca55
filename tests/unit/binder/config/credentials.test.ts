import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { adapterOptionsFor } from '../../../../binder/config/cloud-adapter.js';
import { credentialsSourceFor, readKeyFile, type CredentialsSource } from '../../../../binder/config/credentials.js';
import type { CloudCredentials } from '../../../../binder/cloud/alibaba-credentials.js';
import { NO_CLOUD_METRICS } from '../../../../binder/cloud/cloud-metrics.js';

const SECRET = 'sEcReTvAlUe0123456789abcdefghij';
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
const opened: CredentialsSource[] = [];
const keyDirs: string[] = [];

afterEach(() => {
  for (const source of opened.splice(0)) source.close();
});
afterAll(() => {
  for (const dir of keyDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function keyFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-keyfile-'));
  keyDirs.push(dir);
  writeFileSync(join(dir, 'cloud.json'), content);
  return join(dir, 'cloud.json');
}

/** Writes beside the file and renames over it, as kubelet's atomic Secret update does. */
function replace(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

async function eventually<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('key files', () => {
  it('reads the cloud.json that podeip sandbox writes', () => {
    const path = keyFile(
      JSON.stringify({
        endpoint: '127.0.0.1:1',
        protocol: 'http',
        regionId: 'cn-hangzhou',
        vpcId: 'vpc-1',
        accessKeyId: 'SANDBOXAKID',
        accessKeySecret: SECRET,
      }),
    );
    expect(readKeyFile(path)).toEqual({ kind: 'access-key', accessKeyId: 'SANDBOXAKID', accessKeySecret: SECRET });
  });

  it('takes an STS triple', () => {
    const path = keyFile(
      JSON.stringify({ accessKeyId: 'STS.ID', accessKeySecret: SECRET, securityToken: 'CAIStoken' }),
    );
    expect(readKeyFile(path)).toEqual({
      kind: 'access-key',
      accessKeyId: 'STS.ID',
      accessKeySecret: SECRET,
      securityToken: 'CAIStoken',
    });
  });

  it('names the file and the fields that are wrong, never a value', () => {
    const messages = [
      `{"accessKeyId": "ID", "accessKeySecret": "${SECRET}"`,
      JSON.stringify({ accessKeyId: SECRET, accessKeySecret: '' }),
      JSON.stringify([SECRET]),
    ].map((content) => {
      const path = keyFile(content);
      try {
        readKeyFile(path);
        return 'no error';
      } catch (error) {
        return (error as Error).message.replace(path, 'FILE');
      }
    });
    expect(messages).toEqual([
      'cloud key file FILE: is not JSON',
      'cloud key file FILE: accessKeySecret must be a non-empty string',
      'cloud key file FILE: must hold a JSON object',
    ]);
    expect(() => readKeyFile('/nonexistent/cloud.json')).toThrow(
      'cloud key file /nonexistent/cloud.json: cannot read it (ENOENT)',
    );
  });
});

describe('credentials as configured', () => {
  it('hands the default chain through', () => {
    const source = credentialsSourceFor({ source: 'default-chain' }, { logger });
    opened.push(source);
    expect(source.current()).toEqual({ kind: 'default-chain' });
  });

  it('follows a rotated key file, keeps the last good one through a bad write, and logs no value', async () => {
    const path = keyFile(JSON.stringify({ accessKeyId: 'FIRSTID', accessKeySecret: `${SECRET}1` }));
    const source = credentialsSourceFor({ source: 'key-file', path }, { logger, pollMs: 50 });
    opened.push(source);
    expect(source.current()).toMatchObject({ accessKeyId: 'FIRSTID' });

    replace(
      path,
      JSON.stringify({ accessKeyId: 'SECONDID', accessKeySecret: `${SECRET}2`, securityToken: `${SECRET}3` }),
    );
    await eventually(() =>
      source.current().kind === 'access-key' && (source.current() as { accessKeyId: string }).accessKeyId === 'SECONDID'
        ? true
        : undefined,
    );
    expect(source.current()).toEqual({
      kind: 'access-key',
      accessKeyId: 'SECONDID',
      accessKeySecret: `${SECRET}2`,
      securityToken: `${SECRET}3`,
    });

    replace(path, '{"accessKeyId": "half-writ');
    await eventually(() => (logLines.some((line) => line.includes('cannot be used')) ? true : undefined));
    expect(source.current()).toMatchObject({ accessKeyId: 'SECONDID' });
    expect(logLines.join('\n')).not.toContain(SECRET);
  });

  it('gives the adapter the configured endpoint, protocol, timeouts and limits per window', () => {
    const source = credentialsSourceFor({ source: 'default-chain' }, { logger });
    const options = adapterOptionsFor(
      {
        regionId: 'cn-hangzhou',
        vpcId: 'vpc-1',
        endpoint: '127.0.0.1:9000',
        protocol: 'http',
        credentials: { source: 'default-chain' },
        readTimeoutMs: 2000,
        connectTimeoutMs: 1000,
        rateLimitsPerMinute: { AssociateEipAddress: 12 },
        rateLimitWindowSeconds: 6,
      },
      { credentials: source, logger, metrics: NO_CLOUD_METRICS },
    );
    expect(options).toMatchObject({
      regionId: 'cn-hangzhou',
      vpcId: 'vpc-1',
      endpoint: '127.0.0.1:9000',
      protocol: 'http',
      readTimeoutMs: 2000,
      connectTimeoutMs: 1000,
      rateLimitsPerMinute: { AssociateEipAddress: 12 },
      rateLimitWindowMs: 6000,
    });
    expect(options).not.toHaveProperty('ecsEndpoint');
    // Asked on every call, so a rotated key file needs no new adapter.
    expect(typeof options.credentials).toBe('function');
    expect((options.credentials as () => CloudCredentials)()).toEqual({ kind: 'default-chain' });
  });
});
