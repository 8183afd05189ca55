/**
 * Runs the init container's script for real, under every POSIX shell found here, against a downward-API
 * annotations file that a test rewrites the way the kubelet does. busybox sh (the shell of small images) is
 * used when installed; CI installs it (.ci/run) and this suite then insists on it, so it is never silently left out.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../../api/constants.js';
import { WAIT_FOR_EIP_SCRIPT_MARKER } from '../../../api/wait-container.js';
import { waitForEipScript, type WaitForEipOptions } from '../../../webhook/mutation/wait-script.js';

const CANDIDATE_SHELLS: string[][] = [['sh'], ['bash'], ['busybox', 'sh']];
const SHELLS = CANDIDATE_SHELLS.filter(([program]) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0);
const SHELL_NAMES = SHELLS.map((s) => s.join(' '));
if (process.env.CI === 'true' && !SHELL_NAMES.includes('busybox sh')) {
  throw new Error('CI must run the wait script under busybox sh: .ci/run installs busybox');
}

interface Run {
  shell: string;
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
}

interface Running {
  /** Settles when the shell exits. */
  result: Promise<Run>;
  /** Resolves once stdout holds `text`: the script has reached that point, however slowly it started. */
  printed(text: string): Promise<void>;
  /** Sends SIGTERM, as the kubelet does when the pod is deleted. */
  terminate(): void;
}

/** Spawns `<shell> -c <script>`; killed after 8 s so a broken script cannot hang the suite. */
function startScript(shell: string[], script: string, { env = process.env }: RunOptions = {}): Running {
  const [program = 'sh', ...args] = shell;
  const started = Date.now();
  const child = spawn(program, [...args, '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const watcher of watchers.filter(({ text }) => stdout.includes(text))) watcher.resolve();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
  const result = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ shell: shell.join(' '), code, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
  const printed = (text: string) =>
    stdout.includes(text)
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => watchers.push({ text, resolve })),
          result.then((run) => Promise.reject(new Error(`exited without printing ${text}: ${JSON.stringify(run)}`))),
        ]);
  return { result, printed, terminate: () => child.kill('SIGTERM') };
}

const runScript = (shell: string[], script: string, runOptions: RunOptions = {}) =>
  startScript(shell, script, runOptions).result;

/**
 * A directory holding a `sleep` that notes each call in `$SLEEP_LOG` and then really sleeps. How many polls the
 * script slept through before it gave up is its own choice, where its elapsed time also measures the machine.
 */
function countingSleepDir(): string {
  const realSleep = spawnSync('sh', ['-c', 'command -v sleep']).stdout.toString().trim();
  const bin = freshDir();
  writeFileSync(join(bin, 'sleep'), `#!/bin/sh\necho "$1" >>"$SLEEP_LOG"\nexec '${realSleep}' "$@"\n`);
  chmodSync(join(bin, 'sleep'), 0o755);
  return bin;
}

const sleepsIn = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The downward API's format: sorted `key="value"` lines, Go-quoted, no newline after the last. */
function downwardApiFile(annotations: Record<string, string>): string {
  return Object.keys(annotations)
    .sort()
    .map((key) => `${key}=${JSON.stringify(annotations[key])}`)
    .join('\n');
}

function writeAtomically(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

const OTHER_ANNOTATIONS = {
  'k8s.aliyun.com/pod-with-eip': 'true',
  'kubernetes.io/config.seen': '2026-11-21T09:14:05Z',
};
const ADDRESS = '39.104.21.8';

let root: string;
let caseNumber = 0;
/** A fresh directory per run, with a quote and a space in its path to prove the script quotes it. */
function freshDir(): string {
  const dir = join(root, `case ${++caseNumber}`);
  mkdirSync(dir);
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "podeip wait's-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const options = (annotationsFile: string, overrides: Partial<WaitForEipOptions> = {}): WaitForEipOptions => ({
  annotationsFile,
  timeoutSeconds: 5,
  pollIntervalSeconds: 0.2,
  ...overrides,
});

describe('waitForEipScript', () => {
  it('finds at least one shell', () => {
    expect(SHELL_NAMES).toEqual(expect.arrayContaining(['sh', 'bash']));
  });

  it('starts with the marker the planner recognises and quotes the path', () => {
    const script = waitForEipScript(options("/etc/it's here/annotations"));
    expect(script.startsWith(`${WAIT_FOR_EIP_SCRIPT_MARKER}\n`)).toBe(true);
    expect(script).toContain(`annotations_file='/etc/it'\\''s here/annotations'`);
    expect(script).not.toMatch(/\btimeout\s+-t\b|grep -P|\[\[|\bfunction\b|\blocal\b/);
  });

  it.each([
    [{ timeoutSeconds: 0 }, /timeoutSeconds/],
    [{ timeoutSeconds: Number.NaN }, /timeoutSeconds/],
    [{ pollIntervalSeconds: 0 }, /pollIntervalSeconds/],
    [{ pollIntervalSeconds: 0.0001 }, /pollIntervalSeconds/],
    [{ annotationsFile: '' }, /annotationsFile/],
    [{ annotationsFile: '/a\nb' }, /annotationsFile/],
  ])('rejects %j', (overrides, message) => {
    expect(() => waitForEipScript(options('/etc/podeip/annotations', overrides))).toThrow(message);
  });
});

describe(`the wait script under ${SHELL_NAMES.join(', ')}`, () => {
  it('exits 0 with the address once it appears in a file that did not exist at first', async () => {
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        const file = join(freshDir(), 'annotations');
        const running = startScript(shell, waitForEipScript(options(file)));
        await running.printed('is not set yet');
        writeAtomically(file, downwardApiFile(OTHER_ANNOTATIONS));
        await sleep(300);
        writeAtomically(file, downwardApiFile({ ...OTHER_ANNOTATIONS, [ALLOCATED_EIP_ADDRESS_ANNOTATION]: ADDRESS }));
        return running.result;
      }),
    );
    for (const run of runs) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain(`podeip: EIP address ${ADDRESS} is bound to this pod`);
      expect(run.stdout).toMatch(/^podeip: waiting for the EIP address: \S+\/allocated-eipAddress is not set yet/);
      expect(run.elapsedMs).toBeGreaterThanOrEqual(300);
    }
  });

  it("follows the kubelet's swap of the ..data symlink, with the annotation on the last line", async () => {
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        const dir = freshDir();
        const publish = (version: string, content: string) => {
          mkdirSync(join(dir, version));
          writeFileSync(join(dir, version, 'annotations'), content);
          symlinkSync(version, join(dir, '..data_tmp'));
          renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
        };
        publish('..2026_11_21_09_14_05.1', downwardApiFile({ 'a.example/x': '1' }));
        symlinkSync('..data/annotations', join(dir, 'annotations'));
        const running = runScript(shell, waitForEipScript(options(join(dir, 'annotations'))));
        await sleep(400);
        // Sorted last, so the line has no newline after it.
        const withAddress = { 'a.example/x': '1', [ALLOCATED_EIP_ADDRESS_ANNOTATION]: ADDRESS };
        publish('..2026_11_21_09_14_06.2', downwardApiFile(withAddress));
        return running;
      }),
    );
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(ADDRESS);
    }
  });

  it('keeps waiting while the value is empty, then opens on a real address', async () => {
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        const file = join(freshDir(), 'annotations');
        writeAtomically(file, downwardApiFile({ ...OTHER_ANNOTATIONS, [ALLOCATED_EIP_ADDRESS_ANNOTATION]: '' }));
        const running = startScript(shell, waitForEipScript(options(file)));
        await running.printed('which is not an IPv4 address');
        writeAtomically(file, downwardApiFile({ ...OTHER_ANNOTATIONS, [ALLOCATED_EIP_ADDRESS_ANNOTATION]: ADDRESS }));
        return running.result;
      }),
    );
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('k8s.aliyun.com/allocated-eipAddress is "", which is not an IPv4 address');
      expect(run.stdout).toContain(`EIP address ${ADDRESS} is bound`);
    }
  });

  it('gives up after the timeout, naming the annotation, the timeout and where to look', async () => {
    const bin = countingSleepDir();
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        const dir = freshDir();
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, SLEEP_LOG: join(dir, 'sleeps') };
        const script = waitForEipScript(options(join(dir, 'annotations'), { timeoutSeconds: 1 }));
        return { ...(await runScript(shell, script, { env })), sleeps: sleepsIn(env.SLEEP_LOG) };
      }),
    );
    for (const run of runs) {
      // Code 1 rather than the 8 s kill, and no more than 1 s of 0.2 s polls slept through: it gave up at its
      // timeout (sooner in polls where a busy machine made `date` say a second had gone), however slow the box.
      expect(run.code).toBe(1);
      expect(run.sleeps.length).toBeLessThanOrEqual(5);
      expect(new Set(run.sleeps)).toEqual(new Set(['0.2']));
      expect(run.stderr).toContain(
        `gave up after 1s waiting for the EIP address: annotation ${ALLOCATED_EIP_ADDRESS_ANNOTATION} is not set yet`,
      );
      expect(run.stderr).toContain('kubectl describe pod');
      expect(run.stderr).toContain(`${EIP_CONDITION_TYPE} condition`);
      expect(run.elapsedMs).toBeGreaterThanOrEqual(1000);
    }
  });

  // Go-quoted values as the downward API writes them: `\n` arrives as a backslash and an n.
  const notAddresses: [string, string][] = [
    ['empty', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}=""`],
    ['a word', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="pending"`],
    ['three octets', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.21"`],
    ['five octets', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.21.8.1"`],
    ['an octet above 255', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.256.8"`],
    ['a leading zero', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.021.8"`],
    ['spaces', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}=" 39.104.21.8 "`],
    ['an escaped newline', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.21.8\\n"`],
    ['an IPv6 address', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}="2408:4005::1"`],
    ['another key that ends with it', `x${ALLOCATED_EIP_ADDRESS_ANNOTATION}="39.104.21.8"`],
    ['another key that starts with it', `${ALLOCATED_EIP_ADDRESS_ANNOTATION}V6="39.104.21.8"`],
    ['a value that only contains it', `note="${ALLOCATED_EIP_ADDRESS_ANNOTATION}=\\"39.104.21.8\\""`],
  ];

  it(`does not open on ${notAddresses.map(([what]) => what).join(', ')}`, async () => {
    const runs = await Promise.all(
      SHELLS.flatMap((shell) =>
        notAddresses.map(async ([what, line]) => {
          const file = join(freshDir(), 'annotations');
          writeAtomically(file, `a.example/x="1"\n${line}\nz.example/y="2"`);
          const script = waitForEipScript(options(file, { timeoutSeconds: 1, pollIntervalSeconds: 0.25 }));
          const run = await runScript(shell, script);
          return { ...run, what };
        }),
      ),
    );
    for (const run of runs) {
      expect({ shell: run.shell, what: run.what, code: run.code, bound: run.stdout.includes('is bound') }).toEqual({
        shell: run.shell,
        what: run.what,
        code: 1,
        bound: false,
      });
    }
  });

  it('still times out by counting polls where `date` is missing', async () => {
    const bin = countingSleepDir();
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        const program = spawnSync('sh', ['-c', `command -v ${shell[0]}`])
          .stdout.toString()
          .trim();
        const dir = freshDir();
        const env = { PATH: bin, SLEEP_LOG: join(dir, 'sleeps') };
        const script = waitForEipScript(
          options(join(dir, 'annotations'), { timeoutSeconds: 1, pollIntervalSeconds: 0.25 }),
        );
        return { ...(await runScript([program, ...shell.slice(1)], script, { env })), sleeps: sleepsIn(env.SLEEP_LOG) };
      }),
    );
    for (const run of runs) {
      // Without `date` only the count of polls ends the wait: exactly 1 s of them, whatever the machine's speed.
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('gave up after 1s');
      expect(run.sleeps).toEqual(['0.25', '0.25', '0.25', '0.25']);
      expect(run.elapsedMs).toBeGreaterThanOrEqual(1000);
    }
  });

  it('exits on SIGTERM at the next poll rather than ignoring it', async () => {
    const runs = await Promise.all(
      SHELLS.map(async (shell) => {
        // A timeout beyond the 8 s kill: ignoring SIGTERM would end with no exit code, never with 143.
        const script = waitForEipScript(options(join(freshDir(), 'annotations'), { timeoutSeconds: 60 }));
        const running = startScript(shell, script);
        // The first progress line comes after the trap is set, so the signal meets the script, not a shell starting.
        await running.printed('is not set yet');
        running.terminate();
        return running.result;
      }),
    );
    for (const run of runs) {
      expect(run.code).toBe(143);
    }
  });
});
