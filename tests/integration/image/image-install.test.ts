/**
 * The container image without a container engine: the Dockerfile's build stage runs one script that lays
 * out the install, and its final stage copies that folder. This test reads which script and which folder
 * from the Dockerfile itself, runs the same script into a temporary folder, and starts the programs from
 * the result as the image would: `podeip` found on PATH, as UID 65532, with the install mounted read-only
 * (a mount namespace of the test's own) and HOME, TMPDIR and the working folder in a scratch folder (the
 * image's /tmp emptyDir). `podeip webhook` answers a real AdmissionReview over HTTPS; `podeip binder`,
 * against the sandbox started in this process, turns ready and binds a pod's EIP. The install holds the
 * product only: no sandbox, no demo, none of their packages.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../../api/constants.js';
import { generateCa, generateServingCert, serviceDnsNames } from '../../../certs/generate.js';
import { startSandbox, type Sandbox } from '../../../sandbox/index.js';
import { parseDockerfile, type DockerStage } from './dockerfile.js';
import { firstLogLine } from '../cli/log-lines.js';

// The build runs tsc and npm ci; on a busy machine that takes minutes. Nothing below depends on how long.
jest.setTimeout(900_000);

const IMAGE_UID = 65532;
const repository = fileURLToPath(new URL('../../..', import.meta.url));
const dockerfile = parseDockerfile(readFileSync(join(repository, 'Dockerfile'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'podeip-image-'));
/** The image's copy of the install, as the final stage lays it out (its path inside the image differs). */
const installed = join(scratch, 'install');
/** What the image mounts at /tmp: the only place the programs may write. */
const writable = join(scratch, 'tmp');
const children: ChildProcess[] = [];
let sandbox: Sandbox | undefined;

function buildStage(): DockerStage {
  const stage = dockerfile.stages.find((s) => s.name === 'build');
  if (stage === undefined) throw new Error('the Dockerfile has no stage named "build"');
  return stage;
}

/** The build script's RUN line: `sh <script> <out>`, the one instruction that builds the product. */
function buildScriptRun(): { script: string; out: string } {
  const runs = buildStage()
    .instructions.filter((i) => i.keyword === 'RUN')
    .map((i) => /^sh\s+(\S+\.sh)\s+(\S+)$/.exec(i.args))
    .filter((m): m is RegExpExecArray => m !== null);
  if (runs.length !== 1)
    throw new Error(`expected one "RUN sh <script> <out>" in the build stage, found ${runs.length}`);
  return { script: runs[0]![1]!, out: runs[0]![2]! };
}

/** The final stage's copy of the build's output: `COPY --from=build <out> <dest>`. */
function finalCopy(): { from: string; dest: string } {
  const final = dockerfile.stages.at(-1)!;
  const copies = final.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => /^--from=build\s+(\S+)\s+(\S+)$/.exec(i.args))
    .filter((m): m is RegExpExecArray => m !== null);
  if (copies.length !== 1)
    throw new Error(`expected one "COPY --from=build" in the final stage, found ${copies.length}`);
  return { from: copies[0]![1]!, dest: copies[0]![2]! };
}

/** PATH as the image sets it, with the install where the test put it, and node where this machine has it. */
function imagePath(): string {
  const { dest } = finalCopy();
  const env = dockerfile.stages.at(-1)!.instructions.find((i) => i.keyword === 'ENV' && /\bPATH=/.test(i.args));
  const path = /\bPATH=(\S+)/.exec(env?.args ?? '')?.[1] ?? '';
  const entries = path.split(':').filter((p) => p.startsWith(dest));
  if (entries.length === 0) throw new Error(`the final stage's PATH (${path}) names nothing under ${dest}`);
  return [...entries.map((p) => installed + p.slice(dest.length)), dirname(process.execPath), '/usr/bin', '/bin'].join(
    ':',
  );
}

/**
 * `podeip <args>` as the image runs it: found on PATH, as UID 65532, the install read-only. The mount
 * namespace is the child's own, so nothing changes for the rest of the machine.
 */
function spawnPodeip(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const script = [
    'set -e',
    'mount --bind "$1" "$1"',
    'mount -o remount,bind,ro "$1"',
    'shift',
    `exec setpriv --reuid ${IMAGE_UID} --regid ${IMAGE_UID} --clear-groups "$@"`,
  ].join('; ');
  const child = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', installed, 'podeip', ...args], {
    cwd: writable,
    env: { PATH: imagePath(), HOME: writable, TMPDIR: writable, NODE_ENV: 'production', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function runPodeip(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnPodeip(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', resolve));
}

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Files the programs read, owned by the image's user as a mounted Secret would be readable by it. */
function writeForImageUser(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600 });
  chownSync(path, IMAGE_UID, IMAGE_UID);
  return path;
}

beforeAll(() => {
  chmodSync(scratch, 0o755);
  mkdirSync(writable, { mode: 0o1777 });
  chmodSync(writable, 0o1777);
  const { script } = buildScriptRun();
  execFileSync('sh', [join(repository, script), installed], {
    cwd: repository,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_prefer_offline: 'true' },
  });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await sandbox?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the Dockerfile', () => {
  it('runs the build script in its build stage and copies that script’s output into the final stage', () => {
    const { script, out } = buildScriptRun();
    expect(existsSync(join(repository, script))).toBe(true);
    expect(finalCopy().from).toBe(out);
    // The build stage has the development dependencies the script compiles with, installed from the lock file.
    expect(buildStage().instructions.map((i) => `${i.keyword} ${i.args}`)).toContainEqual(
      expect.stringMatching(/^RUN npm ci\b/),
    );
  });

  it('runs podeip as UID 65532 with podeip as the entrypoint', () => {
    const final = dockerfile.stages.at(-1)!;
    const last = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last('USER')).toBe(`${IMAGE_UID}:${IMAGE_UID}`);
    expect(JSON.parse(last('ENTRYPOINT') ?? 'null')).toEqual(['podeip']);
    expect(final.from).toMatch(/^\$\{NODE_IMAGE\}$|^node:20/);
    expect(dockerfile.args.NODE_IMAGE).toMatch(/^node:20-/);
  });
});

describe('the image’s install', () => {
  it('holds the product only: no sandbox, no demo, none of their packages', () => {
    for (const path of ['dist/sandbox', 'dist/cli/demo', 'dist/cli/commands/demo.js', 'dist/cli/commands/sandbox.js'])
      expect([path, existsSync(join(installed, path))]).toEqual([path, false]);
    for (const pkg of ['@marcbachmann/cel-js', 'fast-json-patch', '@alicloud/ecs20140526', 'jest', 'typescript'])
      expect([pkg, existsSync(join(installed, 'node_modules', pkg))]).toEqual([pkg, false]);
    for (const path of ['dist/webhook/index.js', 'dist/binder/index.js', 'dist/certs/generate.js', 'node_modules/ajv'])
      expect([path, existsSync(join(installed, path))]).toEqual([path, true]);
  });

  it('says in one line that the demo and the sandbox run from a checkout, and exits 2', async () => {
    for (const command of ['demo', 'sandbox']) {
      const r = await runPodeip([command]);
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toBe(
        `podeip ${command}: not part of this install; it runs from a checkout of the podeip repository (make ${command})\n`,
      );
    }
    expect((await runPodeip(['--help'])).code).toBe(0);
  });

  it('serves a real AdmissionReview over HTTPS with podeip webhook', async () => {
    const ca = generateCa({ commonName: 'image test CA', validityDays: 1 });
    const serving = generateServingCert({
      ca,
      commonName: 'podeip-webhook.podeip-system.svc',
      dnsNames: serviceDnsNames('podeip-webhook', 'podeip-system'),
      ipAddresses: [],
      validityDays: 1,
    });
    const certFile = writeForImageUser(join(scratch, 'tls.crt'), serving.certPem);
    const keyFile = writeForImageUser(join(scratch, 'tls.key'), serving.keyPem);
    const webhook = spawnPodeip(['webhook', '--tls-cert', certFile, '--tls-key', keyFile, '--port', '0']);
    const listening = await firstLogLine(webhook, 'webhook listening');

    const fixture = readFileSync(new URL('../../fixtures/admission/deployment-pod-auto.json', import.meta.url), 'utf8');
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: listening.port as number,
          // The name the API server calls the Service by; the certificate must match it.
          servername: 'podeip-webhook.podeip-system.svc',
          path: '/mutate-v1-pod',
          method: 'POST',
          ca: ca.certPem,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(fixture);
    });
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

    const exited = exitOf(webhook);
    webhook.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('runs podeip binder against the sandbox: /readyz answers 200 and a pod gets its EIP', async () => {
    sandbox = await startSandbox();
    const files = sandbox.writeFiles(join(scratch, 'sandbox'));
    chmodSync(join(scratch, 'sandbox'), 0o755);
    chownSync(files.kubeconfig, IMAGE_UID, IMAGE_UID);
    chownSync(files.cloudJson, IMAGE_UID, IMAGE_UID);
    const cloud = JSON.parse(readFileSync(files.cloudJson, 'utf8')) as Record<string, string>;
    const config = writeForImageUser(
      join(scratch, 'binder.yaml'),
      [
        'clusterId: c-image-test',
        `kubeconfig: ${files.kubeconfig}`,
        'cloud:',
        `  regionId: ${cloud.regionId}`,
        `  vpcId: ${cloud.vpcId}`,
        `  endpoint: ${cloud.endpoint}`,
        `  protocol: ${cloud.protocol}`,
        `  credentials: { source: key-file, path: ${files.cloudJson} }`,
        // The Lease's namespace is the install's (issue 10's manifests); here one binder runs alone.
        'leaderElection: { enabled: false }',
        'server: { host: 127.0.0.1, port: 0 }',
        '',
      ].join('\n'),
    );
    const binder = spawnPodeip(['binder', '--config', config]);
    const serving = await firstLogLine(binder, 'binder serving /healthz, /readyz and /metrics');
    const readyz = () =>
      new Promise<number>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port: serving.port as number, path: '/readyz' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end();
      });
    await eventually(async () => ((await readyz()) === 200 ? true : undefined), 60_000, 'binder /readyz 200');

    // A pod that asks for an EIP gets one: the cloud SDK's modules are in the pruned install too.
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(files.kubeconfig);
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'image-eip', annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' } },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      },
    });
    const address = await eventually(
      async () => {
        const pod = await core.readNamespacedPod({ namespace: 'default', name: 'image-eip' });
        return pod.metadata?.annotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION];
      },
      120_000,
      'the pod’s EIP address annotation',
    );
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const exited = exitOf(binder);
    binder.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
