/**
 * The webhook as kube-apiserver meets it: real HTTPS on a real port, certificates from certs/generate.ts,
 * a Secret-style certificate swap under load, and graceful shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { generateCa, generateServingCert, type PemPair } from '../../../certs/generate.js';
import type { WebhookConfig } from '../../../webhook/config/types.js';
import { stopOnSignals } from '../../../cli/signals.js';
import { start as startWebhook, type RunningWebhook } from '../../../webhook/index.js';
import { admissionFixture, captureLogs, defaultWebhookConfig } from './support.js';

const SERVER_NAME = 'podeip-webhook.podeip-system.svc';

// Four RSA keys for the whole file: two CAs and a serving certificate from each.
const caA = generateCa({ commonName: 'podeip test CA A', validityDays: 1 });
const caB = generateCa({ commonName: 'podeip test CA B', validityDays: 1 });
const servingCert = (ca: PemPair): PemPair =>
  generateServingCert({
    ca,
    commonName: SERVER_NAME,
    dnsNames: [SERVER_NAME, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
const certA = servingCert(caA);
const certB = servingCert(caB);
const fingerprintOf = (pair: PemPair): string => new X509Certificate(pair.certPem).fingerprint256;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-https-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes the pair the way kubelet updates a mounted Secret: the files go into a new timestamped directory,
 * a `..data_tmp` symlink to it is renamed over `..data`, and `tls.crt`/`tls.key` are symlinks through `..data`.
 */
function writeMountedSecret(dir: string, pair: PemPair): void {
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(join(dir, version));
  writeFileSync(join(dir, version, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, version, 'tls.key'), pair.keyPem, { mode: 0o600 });
  const dataLink = join(dir, '..data');
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), dataLink);
  for (const file of ['tls.crt', 'tls.key']) {
    const visible = join(dir, file);
    if (!lstatSync(visible, { throwIfNoEntry: false })) symlinkSync(join('..data', file), visible);
  }
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
}

function configFor(dir: string, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  const defaults = defaultWebhookConfig();
  return {
    ...defaults,
    listen: { host: '127.0.0.1', port: 0 },
    // The periodic check is pushed out of the test's reach, so a reload proves the directory watch works.
    tls: {
      ...defaults.tls,
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      reloadIntervalSeconds: 3600,
    },
    shutdownTimeoutSeconds: 5,
    ...overrides,
  };
}

interface Answer {
  status: number;
  body: string;
  fingerprint256: string;
  protocol: string | null;
  reusedSocket: boolean;
}

type CallOptions = Pick<RequestOptions, 'agent' | 'ca' | 'minVersion' | 'maxVersion' | 'ciphers'> & {
  method?: string;
  path?: string;
  body?: string;
};

/** One HTTPS request the way the API server makes it: CA pinned, server name from the Service. */
function call(port: number, options: CallOptions = {}): Promise<Answer> {
  const {
    body,
    method = body === undefined ? 'GET' : 'POST',
    path = body === undefined ? '/healthz' : '/mutate-v1-pod',
    ...tls
  } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        servername: SERVER_NAME,
        ca: [caA.certPem, caB.certPem],
        agent: false,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        ...tls,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint256 = socket.getPeerCertificate().fingerprint256;
        const protocol = socket.getProtocol();
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            fingerprint256,
            protocol,
            reusedSocket: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startWebhook over HTTPS', () => {
  const logs = captureLogs('info');
  const dir = tempDir();
  let webhook: RunningWebhook;
  const review = admissionFixture('deployment-pod-auto.json');
  const body = JSON.stringify(review);

  beforeAll(async () => {
    writeMountedSecret(dir, certA);
    webhook = await startWebhook(configFor(dir), { logger: logs.logger });
  });
  afterAll(async () => {
    await webhook.close();
  });

  it('answers a real AdmissionReview, echoing its uid', async () => {
    const answer = await call(webhook.port, { body });
    expect(answer.status).toBe(200);
    expect(answer.fingerprint256).toBe(fingerprintOf(certA));
    const parsed = JSON.parse(answer.body);
    expect(parsed).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch' },
    });
    expect((await call(webhook.port)).status).toBe(200);
  });

  it('refuses TLS 1.1 and serves TLS 1.2', async () => {
    // SECLEVEL=0 lets the client offer TLS 1.1, so the refusal is the server's ("alert protocol version").
    await expect(
      call(webhook.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    ).rejects.toThrow(/alert protocol version/);
    const answer = await call(webhook.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(answer).toMatchObject({ status: 200, protocol: 'TLSv1.2' });
  });

  it('swaps to a certificate from another CA under load, without one failed request', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    const TOTAL = 300;
    let started = 0;
    let completed = 0;
    let reused = 0;
    const failures: string[] = [];
    const freshFingerprints = new Set<string>();

    // At least TOTAL requests, and on until a new connection has met the new certificate, however long a
    // busy machine takes to notice the file change (the cap only stops a broken reload from running forever).
    const more = (): boolean =>
      started < TOTAL || (!freshFingerprints.has(fingerprintOf(certB)) && started < 20 * TOTAL);
    async function worker(agent: Agent | false): Promise<void> {
      while (more()) {
        started++;
        try {
          const answer = await call(webhook.port, { body, agent });
          const uid = JSON.parse(answer.body)?.response?.uid;
          if (answer.status !== 200 || uid !== review.request.uid) failures.push(`status ${answer.status}, uid ${uid}`);
          if (agent === false) freshFingerprints.add(answer.fingerprint256);
          if (answer.reusedSocket) reused++;
        } catch (err) {
          failures.push(String(err));
        }
        completed++;
        // Paced so the run spans the swap: about 2–3 s in all.
        await sleep(20);
      }
    }
    async function swapMidway(): Promise<void> {
      while (completed < TOTAL / 3) await sleep(5);
      writeMountedSecret(dir, certB);
    }

    const startedAt = Date.now();
    await Promise.all([worker(keepAlive), worker(false), worker(false), swapMidway()]);
    const elapsedMs = Date.now() - startedAt;
    keepAlive.destroy();

    expect(failures).toEqual([]);
    expect(completed).toBe(started);
    expect(completed).toBeGreaterThanOrEqual(TOTAL);
    // A floor set by the pacing alone (100 pauses of 20 ms per worker), which no machine can make shorter.
    expect(elapsedMs).toBeGreaterThan(1000);
    expect(reused).toBeGreaterThan(0);
    await logs.waitFor(
      (line) => line.msg === 'TLS certificate reloaded' && line.fingerprint256 === fingerprintOf(certB),
    );
    // New connections during the run met the old certificate, then the new one.
    expect([...freshFingerprints].sort()).toEqual([fingerprintOf(certA), fingerprintOf(certB)].sort());
    // A client that trusts only the new CA gets in; one that trusts only the old CA no longer does.
    expect(await call(webhook.port, { ca: caB.certPem })).toMatchObject({
      status: 200,
      fingerprint256: fingerprintOf(certB),
    });
    await expect(call(webhook.port, { ca: caA.certPem })).rejects.toThrow(/certificate/i);

    // Back to certificate A, so that the tests sharing this webhook see what they expect in any order.
    writeMountedSecret(dir, certA);
    for (;;) {
      const answer = await call(webhook.port, { body, agent: false });
      if (answer.fingerprint256 === fingerprintOf(certA)) break;
      await sleep(50);
    }
  });

  it('keeps serving the current certificate when the new key does not match', async () => {
    const current = (await call(webhook.port)).fingerprint256;
    const other = current === fingerprintOf(certA) ? certB : certA;
    writeMountedSecret(dir, { certPem: other.certPem, keyPem: caB.keyPem });
    const rejected = await logs.waitFor(
      (line) => line.msg === 'new TLS certificate rejected; still serving the current certificate',
    );
    expect(rejected).toMatchObject({ level: 50, current });
    expect(String(rejected.reason)).toMatch(/does not match the certificate/);
    expect(await call(webhook.port, { body })).toMatchObject({ status: 200, fingerprint256: current });
  });
});

describe('startWebhook configuration errors', () => {
  it('names each file it cannot read', async () => {
    const dir = tempDir();
    const config = configFor(dir);
    await expect(startWebhook(config, { logger: captureLogs().logger })).rejects.toThrow(
      `cannot read TLS certificate file "${config.tls.certFile}": ENOENT: no such file or directory, open '${config.tls.certFile}'; ` +
        `cannot read TLS key file "${config.tls.keyFile}": ENOENT`,
    );
    writeFileSync(config.tls.certFile, certA.certPem);
    await expect(startWebhook(config, { logger: captureLogs().logger })).rejects.toThrow(
      /^cannot read TLS key file "[^"]+tls\.key": ENOENT[^;]*$/,
    );
  });

  it('names both files when the key does not match the certificate', async () => {
    const dir = tempDir();
    writeMountedSecret(dir, { certPem: certA.certPem, keyPem: certB.keyPem });
    await expect(startWebhook(configFor(dir), { logger: captureLogs().logger })).rejects.toThrow(
      `TLS key file "${join(dir, 'tls.key')}" does not match the certificate in "${join(dir, 'tls.crt')}"`,
    );
  });

  it('serves only TLS 1.3 when minVersion is TLSv1.3', async () => {
    const dir = tempDir();
    writeMountedSecret(dir, certA);
    const config = configFor(dir);
    config.tls.minVersion = 'TLSv1.3';
    const webhook = await startWebhook(config, { logger: captureLogs().logger });
    try {
      await expect(call(webhook.port, { maxVersion: 'TLSv1.2' })).rejects.toThrow(/alert protocol version/);
      expect(await call(webhook.port)).toMatchObject({ status: 200, protocol: 'TLSv1.3' });
    } finally {
      await webhook.close();
    }
  });
});

describe('graceful shutdown', () => {
  const dir = tempDir();
  writeMountedSecret(dir, certA);
  const review = admissionFixture('deployment-pod-auto.json');
  const body = Buffer.from(JSON.stringify(review));

  /** Sends the headers and half the body, and resolves once the server has started on the request. */
  async function startHalfSentRequest(webhook: RunningWebhook) {
    const req = request({
      host: '127.0.0.1',
      port: webhook.port,
      method: 'POST',
      path: '/mutate-v1-pod',
      servername: SERVER_NAME,
      ca: caA.certPem,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
    });
    const arrived = once(webhook.app.server, 'request');
    req.write(body.subarray(0, body.length >> 1));
    await arrived;
    return { finish: () => req.end(body.subarray(body.length >> 1)), response };
  }

  it('turns /readyz to 503, refuses new connections, and finishes the request in flight', async () => {
    const webhook = await startWebhook(configFor(dir), { logger: captureLogs().logger });
    expect((await webhook.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const inFlight = await startHalfSentRequest(webhook);

    let closed = false;
    const closing = webhook.close().then(() => (closed = true));
    expect(webhook.close()).toBe(webhook.close());
    expect((await webhook.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    await expect(call(webhook.port)).rejects.toThrow(/ECONNREFUSED/);
    expect(closed).toBe(false);

    inFlight.finish();
    const answer = await inFlight.response;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).response.uid).toBe(review.request.uid);
    await closing;
    expect(closed).toBe(true);
  });

  it('gives up on a request that never ends after shutdownTimeoutSeconds', async () => {
    const logs = captureLogs('info');
    const webhook = await startWebhook(configFor(dir, { shutdownTimeoutSeconds: 1 }), { logger: logs.logger });
    const stuck = await startHalfSentRequest(webhook);
    const startedAt = Date.now();
    await webhook.close();
    const elapsedMs = Date.now() - startedAt;
    expect(elapsedMs).toBeGreaterThanOrEqual(900);
    // Generous: the request never ends, so this bound only tells "gave up after about a second" from "waited
    // for ever"; a busy machine may take several seconds to close.
    expect(elapsedMs).toBeLessThan(15_000);
    await expect(stuck.response).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(logs.lines.some((line) => line.msg === 'shutdown timeout reached; closing the remaining connections')).toBe(
      true,
    );
  });

  it('stopOnSignals stops once, on the first signal, and then lets go of the signal', async () => {
    const logs = captureLogs('info');
    const webhook = await startWebhook(configFor(dir), { logger: logs.logger });
    // SIGUSR2 stands in for SIGTERM: emitting it reaches only JavaScript listeners, never Jest's own.
    const before = process.listenerCount('SIGUSR2');
    const closed = stopOnSignals(webhook, logs.logger, ['SIGUSR2']);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    await closed;
    expect(process.listenerCount('SIGUSR2')).toBe(before);
    expect(logs.lines.filter((line) => line.msg === 'signal received; shutting down')).toHaveLength(1);
    await expect(call(webhook.port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
