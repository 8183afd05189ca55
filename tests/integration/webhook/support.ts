/**
 * Shared by the webhook integration tests: the AdmissionReview fixtures, the default policy, a log capture,
 * and the webhook serving real HTTPS with a client for it.
 */
import { jest } from '@jest/globals';
import * as cookieModule from 'cookie';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { pino } from 'pino';
import { captureLogs, type CapturedLogs } from '../captured-logs.js';
import { generateCa, generateServingCert } from '../../../certs/generate.js';
import type { MutationPolicy, WebhookConfig } from '../../../webhook/config/types.js';
import { start as startWebhook } from '../../../webhook/index.js';

/*
 * app.inject() loads light-my-request, which require()s the ESM-only `cookie` 2. Node 20 can do that, but
 * Jest's own CommonJS loader cannot before Node 24.9, so Jest is handed the real module for that require.
 * Nothing is faked: it is the same package, loaded through import instead of require.
 */
jest.mock('cookie', () => cookieModule);

export { captureLogs, type CapturedLogs };

const fixturesDir = new URL('../../fixtures/', import.meta.url);

/** A review from tests/fixtures/admission, parsed fresh on each call so a test may change it. */
export function admissionFixture(name: string): {
  apiVersion: string;
  kind: string;
  request: Record<string, unknown> & { uid: string };
} {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`admission/${name}`, fixturesDir)), 'utf8'));
}

/** The configuration every field of which is a schema default (the golden file of the config tests). */
export function defaultWebhookConfig(): WebhookConfig {
  return JSON.parse(readFileSync(fileURLToPath(new URL('config/webhook-defaults.golden.json', fixturesDir)), 'utf8'));
}

export function defaultPolicy(): MutationPolicy {
  return defaultWebhookConfig().mutation;
}

/** The names of every review in tests/fixtures/admission. */
export function admissionFixtureNames(): string[] {
  return readdirSync(fileURLToPath(new URL('admission/', fixturesDir)))
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export const TEST_SERVER_NAME = 'podeip-webhook.podeip-system.svc';

export interface TlsWebhook {
  port: number;
  logs: CapturedLogs;
  /** The CA the serving certificate chains to, for clients to pin. */
  caPem: string;
  stop(): Promise<void>;
}

/**
 * The webhook as `podeip webhook` runs it, serving HTTPS on a free port of 127.0.0.1 with a certificate
 * from certs/generate.ts in files; `connections` overrides the configuration's defaults.
 */
export async function startTlsWebhook(
  options: {
    connections?: Partial<WebhookConfig['connections']>;
    logLevel?: pino.LevelWithSilent;
    eipPolicies?: WebhookConfig['eipPolicies'];
  } = {},
): Promise<TlsWebhook> {
  const ca = generateCa({ commonName: 'podeip test CA', validityDays: 1 });
  const serving = generateServingCert({
    ca,
    commonName: TEST_SERVER_NAME,
    dnsNames: [TEST_SERVER_NAME],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
  const dir = mkdtempSync(join(tmpdir(), 'podeip-webhook-'));
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const defaults = defaultWebhookConfig();
  const logs = captureLogs(options.logLevel ?? 'info');
  try {
    const running = await startWebhook(
      {
        ...defaults,
        listen: { host: '127.0.0.1', port: 0 },
        certificates: { ...defaults.certificates, mode: 'files' },
        tls: { ...defaults.tls, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
        connections: { ...defaults.connections, ...options.connections },
        shutdownTimeoutSeconds: 2,
        ...(options.eipPolicies === undefined ? {} : { eipPolicies: options.eipPolicies }),
      },
      { logger: logs.logger },
    );
    return {
      port: running.port,
      logs,
      caPem: ca.certPem,
      stop: async () => {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** One HTTPS request to the webhook, its certificate checked against `webhook.caPem`: GET without a body, else POST. */
export function callWebhook(
  webhook: Pick<TlsWebhook, 'port' | 'caPem'>,
  path: string,
  options: { body?: string; agent?: Agent | false } = {},
): Promise<{ status: number; body: string }> {
  const { body, agent = false } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: webhook.port,
        method: body === undefined ? 'GET' : 'POST',
        path,
        servername: TEST_SERVER_NAME,
        ca: webhook.caPem,
        agent,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
