/**
 * `podeip sandbox` as a person runs it: the built CLI in its own process, then kubectl and the real
 * Alibaba SDK against the files it writes, then SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as $Vpc from '@alicloud/vpc20160428';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { VpcClient } from '../sandbox/cloud/support.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

let dir: string;
let child: ChildProcess;

function kubectl(args: string[]) {
  const r = spawnSync(
    'kubectl',
    ['--kubeconfig', join(dir, 'kubeconfig'), `--cache-dir=${join(dir, 'kube-cache')}`, ...args],
    { encoding: 'utf8', timeout: 20000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function eventually<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `podeip sandbox` writing into `into`, and resolves once it said it is ready. */
async function startSandbox(into: string): Promise<{ process: ChildProcess }> {
  let printed = '';
  const started = spawn(process.execPath, [cli, 'sandbox', '--dir', into, '--nodes', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  started.stderr?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  await eventually(() => (printed.includes('sandbox ready') ? true : undefined), 20000);
  return { process: started };
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
  dir = mkdtempSync(join(tmpdir(), 'podeip-sandbox-cli-'));
  const started = await startSandbox(dir);
  child = started.process;
});

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('podeip sandbox', () => {
  it('writes a private kubeconfig and a cloud.json with every field', () => {
    expect(statSync(join(dir, 'kubeconfig')).mode & 0o077).toBe(0);
    const cloud = JSON.parse(readFileSync(join(dir, 'cloud.json'), 'utf8'));
    expect(Object.keys(cloud).sort()).toEqual([
      'accessKeyId',
      'accessKeySecret',
      'endpoint',
      'protocol',
      'regionId',
      'vpcId',
    ]);
    expect(cloud.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(cloud.protocol).toBe('http');
  });

  it('serves kubectl: nodes are Ready and the PodEIP CRD is installed', () => {
    const nodes = kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.trim().split('\n')).toEqual(['sandbox-node-1=True', 'sandbox-node-2=True']);
    expect(kubectl(['get', 'crd', 'podeips.alibabacloud.com']).code).toBe(0);
  });

  it('runs pods on IPs that the cloud stand-in knows, and the SDK sees the demo static EIP', async () => {
    const manifest = join(dir, 'pod.yaml');
    writeFileSync(
      manifest,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: hello, namespace: default}\nspec: {containers: [{name: app, image: nginx}]}\n',
    );
    expect(kubectl(['create', '-f', manifest]).code).toBe(0);
    const ip = await eventually(() => {
      const r = kubectl(['get', 'pod', 'hello', '-o', 'jsonpath={.status.podIP}']);
      return r.code === 0 && r.stdout !== '' ? r.stdout : undefined;
    }, 15000);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const cloud = JSON.parse(readFileSync(join(dir, 'cloud.json'), 'utf8'));
    const vpc = new VpcClient(new $OpenApiUtil.Config({ ...cloud, readTimeout: 10000, connectTimeout: 5000 }));
    const answer = await vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId: cloud.regionId, allocationId: 'eip-demostatic01' }),
    );
    expect(
      answer.body?.eipAddresses?.eipAddress?.map(
        (e: $Vpc.DescribeEipAddressesResponseBodyEipAddressesEipAddress) => e.status,
      ),
    ).toEqual(['Available']);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    // A sandbox of its own: the other tests use the shared one, in whatever order they run.
    const ownDir = mkdtempSync(join(tmpdir(), 'podeip-sandbox-cli-stop-'));
    const own = await startSandbox(ownDir);
    try {
      const exited = new Promise<number | null>((resolve) => own.process.once('exit', (code) => resolve(code)));
      own.process.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (own.process.exitCode === null) own.process.kill('SIGKILL');
      rmSync(ownDir, { recursive: true, force: true });
    }
  });
});
