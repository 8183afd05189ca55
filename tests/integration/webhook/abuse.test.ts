/**
 * The webhook against clients that mean harm, over real HTTPS: a pod built to make the name search cost
 * the square of its size, bodies trickled a byte at a time, connections that never speak, more connections
 * than the cap, and values that would come back many times larger in the answer and the log.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { WebhookConfig } from '../../../webhook/config/types.js';
import { admissionFixture, callWebhook, startTlsWebhook, TEST_SERVER_NAME, type TlsWebhook } from './support.js';

const running: TlsWebhook[] = [];
async function webhook(connections: Partial<WebhookConfig['connections']> = {}): Promise<TlsWebhook> {
  const started = await startTlsWebhook({ connections });
  running.push(started);
  return started;
}
afterAll(() => Promise.all(running.map((w) => w.stop())));

type Review = ReturnType<typeof admissionFixture>;
interface ReviewAnswer {
  response: { uid: string; allowed: boolean; patch?: string; status?: { message: string }; warnings?: string[] };
}

function patchOf(answer: ReviewAnswer): Operation[] {
  return answer.response.patch === undefined
    ? []
    : (JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as Operation[]);
}

/** A TLS connection that has finished its handshake; resolves when it closes, with what the server sent. */
async function openTls(webhook: TlsWebhook): Promise<{ socket: TLSSocket; closed: Promise<string> }> {
  const socket = connectTls({
    host: '127.0.0.1',
    port: webhook.port,
    servername: TEST_SERVER_NAME,
    ca: webhook.caPem,
  });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  const closed = once(socket, 'close').then(() => received);
  socket.on('error', () => undefined);
  await Promise.race([once(socket, 'secureConnect'), closed]);
  return { socket, closed };
}

async function metric(webhook: TlsWebhook, name: string): Promise<number> {
  const text = (await callWebhook(webhook, '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('a pod built to make the name search quadratic', () => {
  it('answers a pod of 45,000 containers named like the wait container with one free name, and /healthz meanwhile', async () => {
    const server = await webhook();
    const review = admissionFixture('deployment-pod-auto.json');
    const pod = review.request.object as { spec: { containers: Array<Record<string, unknown>> } };
    pod.spec.containers = Array.from({ length: 45000 }, (_, n) => ({
      name: n === 0 ? 'podeip-wait-eip' : `podeip-wait-eip-${n}`,
    }));
    const body = JSON.stringify(review);
    expect(body.length).toBeGreaterThan(1_400_000);
    const started = performance.now();
    const [answer, health] = await Promise.all([
      callWebhook(server, '/mutate-v1-pod', { body }),
      new Promise<{ status: number; body: string }>((resolve, reject) =>
        setImmediate(() => callWebhook(server, '/healthz').then(resolve, reject)),
      ),
    ]);
    const tookMs = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(health).toEqual({ status: 200, body: 'ok' });
    const patched = fastJsonPatch.applyPatch(
      structuredClone(review.request.object),
      patchOf(JSON.parse(answer.body) as ReviewAnswer),
      true,
      false,
    ).newDocument as { spec: { initContainers: Array<{ name: string }> } };
    expect(patched.spec.initContainers[0]!.name).toBe('podeip-wait-eip-45000');
    console.log(`45,000-container pod (${(body.length / 1e6).toFixed(1)} MB): answered in ${tookMs.toFixed(0)} ms`);
  });
});

describe('slow and idle clients', () => {
  it('cuts off a body trickled byte by byte at the request timeout, answering 408, and counts it', async () => {
    const server = await webhook({ requestTimeoutSeconds: 1 });
    const before = await metric(server, 'podeip_webhook_requests_timed_out_total');
    const { socket, closed } = await openTls(server);
    socket.write(
      'POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    // One more byte now and then, as an attacker keeping the request alive would.
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    expect(await metric(server, 'podeip_webhook_requests_timed_out_total')).toBe(before + 1);
  });

  it('closes a connection whose headers never end, and one that never starts its TLS handshake', async () => {
    const server = await webhook({ requestTimeoutSeconds: 1 });
    const { socket, closed } = await openTls(server);
    socket.write('POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
    try {
      expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    const silent = connectTcp({ host: '127.0.0.1', port: server.port });
    silent.on('error', () => undefined);
    await once(silent, 'close');
  });

  it('closes connections past the cap as they arrive, counts them, and serves again once one closes', async () => {
    const server = await webhook({ max: 3 });
    const held = await Promise.all([openTls(server), openTls(server), openTls(server)]);
    const dropped = connectTcp({ host: '127.0.0.1', port: server.port });
    dropped.on('error', () => undefined);
    await once(dropped, 'close');
    held[0]!.socket.end();
    await held[0]!.closed;
    // The server sees the close after the client: wait for a fresh connection to be served.
    let served: { status: number; body: string } | undefined;
    while (served === undefined) served = await callWebhook(server, '/healthz').catch(() => undefined);
    expect(served).toEqual({ status: 200, body: 'ok' });
    expect(await metric(server, 'podeip_webhook_connections_dropped_total')).toBeGreaterThanOrEqual(1);
    for (const { socket } of held) socket.destroy();
  });
});

describe('answers and logs never grow with the input', () => {
  it('denies a 3 MB eip-security-protection-types value in a short message and a short log line', async () => {
    const server = await webhook();
    const { logs } = server;
    const review: Review = admissionFixture('deployment-pod-auto.json');
    const object = review.request.object as { metadata: { annotations: Record<string, string> } };
    const items = Array.from({ length: 300_000 }, (_, n) => `Evil${n}`);
    object.metadata.annotations['k8s.aliyun.com/eip-security-protection-types'] = items.join(',');
    object.metadata.annotations['k8s.aliyun.com/eip-tags'] = JSON.stringify(
      Object.fromEntries(Array.from({ length: 5000 }, (_, n) => [`aliyun-${'k'.repeat(200)}-${n}`, 'v'])),
    );
    object.metadata.annotations['k8s.aliyun.com/pod-eip-release-strategy'] = `Never${'x'.repeat(100_000)}`;
    const body = JSON.stringify(review);
    expect(body.length).toBeGreaterThan(3_000_000);
    const answer = await callWebhook(server, '/mutate-v1-pod', { body });
    expect(answer.status).toBe(200);
    const parsed = JSON.parse(answer.body) as ReviewAnswer;
    expect(parsed.response.allowed).toBe(false);
    const message = parsed.response.status!.message;
    expect(message).toContain('eip-security-protection-types="Evil0,Evil1,');
    expect(message).toContain('and 299995 more');
    expect(message).toContain('more problems like these');
    expect(answer.body.length).toBeLessThan(16 * 1024);
    const line = await logs.waitFor((l) => l.msg === 'pod denied');
    expect(JSON.stringify(line).length).toBeLessThan(16 * 1024);
    console.log(
      `a ${(body.length / 1e6).toFixed(1)} MB hostile review: answer ${answer.body.length} bytes, log line ${JSON.stringify(line).length} bytes`,
    );
  });

  it('cuts a long name, uid and wrong apiVersion in what it logs and answers', async () => {
    const server = await webhook();
    const { logs } = server;
    const review: Review = admissionFixture('deployment-pod-auto.json');
    const huge = 'n'.repeat(1_000_000);
    (review.request.object as { metadata: Record<string, unknown> }).metadata.generateName = huge;
    review.request.uid = `u${huge}`;
    await callWebhook(server, '/mutate-v1-pod', { body: JSON.stringify(review) });
    const line = await logs.waitFor((l) => l.msg === 'pod patched');
    expect(JSON.stringify(line).length).toBeLessThan(4096);

    const wrong = { ...admissionFixture('deployment-pod-auto.json'), apiVersion: `admission.k8s.io/${huge}` };
    const refused = await callWebhook(server, '/mutate-v1-pod', { body: JSON.stringify(wrong) });
    expect(refused.status).toBe(400);
    expect(refused.body.length).toBeLessThan(4096);
  });
});
