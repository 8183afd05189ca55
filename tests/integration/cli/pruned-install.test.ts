/**
 * The product as a cluster gets it: `npm pack` of the built package, installed with `npm ci --omit=dev`
 * from package-lock.json in a folder of its own (as the container image will be), and run from there.
 * Without the sandbox, the demo and their packages, `podeip webhook` answers a real AdmissionReview over
 * HTTPS and `podeip binder --check-config` accepts a configuration.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EIP_CONDITION_TYPE } from '../../../api/constants.js';
import { generateCa, generateServingCert } from '../../../certs/generate.js';

// npm may spend minutes on a busy machine; nothing below depends on how long it takes.
jest.setTimeout(600_000);

const repository = fileURLToPath(new URL('../../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'podeip-pruned-'));
const installed = join(scratch, 'package');
const podeipBin = join(installed, 'dist', 'cli', 'main.js');
const children: ChildProcess[] = [];

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  if (!existsSync(join(repository, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run "make build" first (make test does)');
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], repository)) as {
    filename: string;
  }[];
  execFileSync('tar', ['-xzf', join(scratch, packed!.filename), '-C', scratch]);
  // npm never packs the lock file; the image build copies it beside the package, as here.
  copyFileSync(join(repository, 'package-lock.json'), join(installed, 'package-lock.json'));
  npm(['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], installed);
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

function podeip(args: string[]) {
  const r = spawnSync(process.execPath, [podeipBin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    cwd: scratch,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Resolves with the first JSON log line whose msg is `msg`, read from the child's stdout. */
function logLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) resolve(entry);
      }
    });
    child.on('exit', (code) => reject(new Error(`podeip exited with ${code} before "${msg}":\n${stderr}`)));
  });
}

function review(port: number, caPem: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate-v1-pod',
        method: 'POST',
        ca: caPem,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the pruned install', () => {
  it('holds the product only: no sandbox, no demo, none of their packages', () => {
    for (const path of ['dist/sandbox', 'dist/cli/demo', 'dist/cli/commands/demo.js', 'dist/cli/commands/sandbox.js'])
      expect([path, existsSync(join(installed, path))]).toEqual([path, false]);
    for (const pkg of ['@marcbachmann/cel-js', 'fast-json-patch', '@alicloud/ecs20140526', 'jest', 'typescript'])
      expect([pkg, existsSync(join(installed, 'node_modules', pkg))]).toEqual([pkg, false]);
    for (const path of ['dist/webhook/index.js', 'dist/binder/index.js', 'dist/certs/generate.js', 'node_modules/ajv'])
      expect([path, existsSync(join(installed, path))]).toEqual([path, true]);
  });

  it('serves a real AdmissionReview over HTTPS with podeip webhook', async () => {
    const ca = generateCa({ commonName: 'pruned-install test CA', validityDays: 1 });
    const serving = generateServingCert({
      ca,
      commonName: 'podeip-webhook',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    writeFileSync(join(scratch, 'tls.crt'), serving.certPem);
    writeFileSync(join(scratch, 'tls.key'), serving.keyPem, { mode: 0o600 });
    const args = ['webhook', '--tls-cert', 'tls.crt', '--tls-key', 'tls.key', '--port', '0', '--host', '127.0.0.1'];
    const webhook = spawn(process.execPath, [podeipBin, ...args], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(webhook);
    const listening = await logLine(webhook, 'webhook listening');

    const fixture = readFileSync(new URL('../../fixtures/admission/deployment-pod-auto.json', import.meta.url), 'utf8');
    const answer = await review(listening.port as number, ca.certPem, fixture);
    expect(answer.status).toBe(200);
    const response = (JSON.parse(answer.body) as { response: Record<string, unknown> }).response;
    expect(response).toMatchObject({
      uid: (JSON.parse(fixture) as { request: { uid: string } }).request.uid,
      allowed: true,
      patchType: 'JSONPatch',
    });
    const patch = JSON.parse(Buffer.from(response.patch as string, 'base64').toString('utf8')) as unknown[];
    expect(patch).toContainEqual({
      op: 'add',
      path: '/spec/readinessGates',
      value: [{ conditionType: EIP_CONDITION_TYPE }],
    });

    const exited = new Promise<number | null>((resolve) => webhook.on('exit', resolve));
    webhook.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('accepts a configuration with podeip binder --check-config', () => {
    writeFileSync(
      join(scratch, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: c, context: { cluster: c, user: u } }]',
        'current-context: c',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'binder.yaml'),
      'clusterId: c-pruned\nkubeconfig: kubeconfig\ncloud: { regionId: cn-hangzhou, vpcId: vpc-pruned1 }\n',
    );
    const r = podeip(['binder', '--check-config', '--config', 'binder.yaml']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^configuration is valid\n/);
    expect(JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))).toMatchObject({
      clusterId: 'c-pruned',
      cloud: { regionId: 'cn-hangzhou', vpcId: 'vpc-pruned1', credentials: { source: 'default-chain' } },
    });
  });

  it('says in one line that the demo and the sandbox run from a checkout, and exits 2', () => {
    for (const command of ['demo', 'sandbox']) {
      const r = podeip([command]);
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toBe(
        `podeip ${command}: not part of this install; it runs from a checkout of the podeip repository (make ${command})\n`,
      );
    }
    expect(podeip(['--help']).code).toBe(0);
  });
});
