/**
 * Readiness gates and podeip's wait-for-EIP init container, through the real API stand-in and
 * @kubernetes/client-node: the kubelet keeps Ready False until the gate's condition is True, merges its
 * own conditions without clobbering the gate's, and holds the app containers until the EIP annotation holds
 * an IPv4 address.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../../../api/constants.js';
import type { AdmissionAttributes, KubeObject } from '../../../../sandbox/kube/types.js';
import { WAIT_TIMEOUT_SECONDS_ENV } from '../../../../api/wait-container.js';
import { waitForEipScript } from '../../../../webhook/mutation/wait-script.js';
import { barePod, sleep, startTestApiCluster, waitFor, type TestApiCluster } from './support.js';

const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const GATE = [{ conditionType: EIP_CONDITION_TYPE }];

let t: TestApiCluster;

beforeAll(async () => {
  t = await startTestApiCluster();
});
afterAll(() => t.close());

async function read(name: string): Promise<k8s.V1Pod> {
  return t.core.readNamespacedPod({ name, namespace: 'default' });
}

function condition(pod: k8s.V1Pod, type: string): k8s.V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

async function setGate(name: string, status: 'True' | 'False'): Promise<void> {
  await t.core.patchNamespacedPodStatus(
    {
      name,
      namespace: 'default',
      body: {
        status: {
          conditions: [
            { type: EIP_CONDITION_TYPE, status, reason: 'Associate eip succeed', lastTransitionTime: new Date() },
          ],
        },
      },
    },
    smp,
  );
}

function waitInitContainer(timeoutSeconds = 600): Record<string, unknown> {
  return {
    name: 'podeip-wait-for-eip',
    image: 'busybox:1.36',
    command: [
      'sh',
      '-c',
      waitForEipScript({ annotationsFile: '/etc/podeip/annotations', timeoutSeconds, pollIntervalSeconds: 1 }),
    ],
    env: [{ name: WAIT_TIMEOUT_SECONDS_ENV, value: String(timeoutSeconds) }],
  };
}

describe('a pod with the k8s.aliyun.com/eip readiness gate', () => {
  it('stays Ready=False with ContainersReady=True until the gate condition is patched True', async () => {
    await t.core.createNamespacedPod({
      namespace: 'default',
      body: barePod('gated', { readinessGates: GATE }) as k8s.V1Pod,
    });
    const waiting = await waitFor('containers ready', async () => {
      const pod = await read('gated');
      return condition(pod, 'ContainersReady')?.status === 'True' ? pod : undefined;
    });
    expect(condition(waiting, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: `corresponding condition of pod readiness gate "${EIP_CONDITION_TYPE}" does not exist.`,
    });
    expect(waiting.status?.phase).toBe('Running');
    await sleep(300);
    expect(condition(await read('gated'), 'Ready')?.status).toBe('False');

    await setGate('gated', 'False');
    const stillFalse = await waitFor('the False gate reflected', async () => {
      const pod = await read('gated');
      return condition(pod, 'Ready')?.message?.includes('is not "True", but False') === true ? pod : undefined;
    });
    expect(condition(stillFalse, 'Ready')?.status).toBe('False');

    await setGate('gated', 'True');
    const ready = await waitFor('Ready', async () => {
      const pod = await read('gated');
      return condition(pod, 'Ready')?.status === 'True' ? pod : undefined;
    });
    expect(condition(ready, EIP_CONDITION_TYPE)).toMatchObject({ status: 'True', reason: 'Associate eip succeed' });
    expect(condition(ready, 'ContainersReady')?.status).toBe('True');
    // kubectl's READINESS GATES column counts the gate as met.
    const wide = await kubectl(['get', 'pod', 'gated', '-o', 'wide', '--no-headers']);
    expect(wide).toMatch(/\s1\/1\s+Running\s/);
    expect(wide.trim()).toMatch(/1\/1$/);
  });

  it('keeps the gate condition through every later kubelet status write, including termination', async () => {
    // A pod of its own, brought to Ready through its gate, so the test does not need the one above.
    await t.core.createNamespacedPod({
      namespace: 'default',
      body: barePod('gated-end', { readinessGates: GATE }) as k8s.V1Pod,
    });
    await waitFor(
      'containers ready',
      async () => condition(await read('gated-end'), 'ContainersReady')?.status === 'True',
    );
    await setGate('gated-end', 'True');
    await waitFor('Ready', async () => condition(await read('gated-end'), 'Ready')?.status === 'True');
    const seen: k8s.V1PodStatus[] = [];
    const watch = t.kube.store.watch(
      t.kube.store.resourceType('', 'pods')!,
      { namespace: 'default', fieldSelector: 'metadata.name=gated-end' },
      (event) => {
        seen.push((event.object as KubeObject).status as k8s.V1PodStatus);
      },
    );
    await t.core.deleteNamespacedPod({ name: 'gated-end', namespace: 'default' });
    await waitFor(
      'gated-end gone',
      async () =>
        (await t.core.listNamespacedPod({ namespace: 'default', fieldSelector: 'metadata.name=gated-end' })).items
          .length === 0,
    );
    watch.stop();
    const stopped = seen.find((status) => status.containerStatuses?.[0]?.state?.terminated !== undefined);
    expect(stopped?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(stopped?.phase).toBe('Succeeded');
    for (const status of seen)
      expect(status.conditions?.find((c) => c.type === EIP_CONDITION_TYPE)?.status).toBe('True');
  });
});

describe('a kubelet status write that races a client patch', () => {
  it('gets 409, re-reads, and merges its conditions around the gate condition', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const attempts: Array<{ resourceVersion?: string; gate?: string }> = [];
    t.kube.setAdmission({
      async admit(attributes: AdmissionAttributes) {
        const fromKubelet =
          attributes.userInfo.username.startsWith('system:node:') &&
          attributes.subresource === 'status' &&
          attributes.name === 'racer';
        if (fromKubelet) {
          const conditions =
            ((attributes.object?.status ?? {}) as { conditions?: Array<{ type: string; status: string }> })
              .conditions ?? [];
          attempts.push({
            resourceVersion: attributes.object?.metadata.resourceVersion,
            gate: conditions.find((c) => c.type === EIP_CONDITION_TYPE)?.status,
          });
          if (attempts.length === 1) await held;
        }
        return { object: attributes.object, warnings: [] };
      },
    });
    try {
      await t.core.createNamespacedPod({
        namespace: 'default',
        body: barePod('racer', { readinessGates: GATE }) as k8s.V1Pod,
      });
      await waitFor('the kubelet mid-write', () => attempts.length === 1);
      await setGate('racer', 'True');
      release();
      const ready = await waitFor('Ready', async () => {
        const pod = await read('racer');
        return condition(pod, 'Ready')?.status === 'True' ? pod : undefined;
      });
      expect(condition(ready, EIP_CONDITION_TYPE)?.status).toBe('True');
      expect(attempts[0]?.gate).toBeUndefined();
      expect(attempts[1]?.gate).toBe('True');
      expect(attempts[1]?.resourceVersion).not.toBe(attempts[0]?.resourceVersion);
    } finally {
      t.kube.setAdmission(undefined);
      release();
    }
  });
});

describe("podeip's wait-for-EIP init container", () => {
  it('holds the pod in Init until the annotation holds an IPv4 address, while an early gate condition survives', async () => {
    const pod = barePod('waits', { readinessGates: GATE, initContainers: [waitInitContainer()] });
    await t.core.createNamespacedPod({ namespace: 'default', body: pod as k8s.V1Pod });
    const initializing = await waitFor('the init container running', async () => {
      const current = await read('waits');
      return current.status?.initContainerStatuses?.[0]?.state?.running !== undefined ? current : undefined;
    });
    expect(initializing.status?.phase).toBe('Pending');
    expect(condition(initializing, 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [podeip-wait-for-eip]',
    });
    expect(initializing.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    expect(initializing.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // The binder sets its condition before the annotation; the kubelet's later writes must keep it.
    await setGate('waits', 'True');
    await t.core.patchNamespacedPod(
      {
        name: 'waits',
        namespace: 'default',
        body: { metadata: { annotations: { [ALLOCATED_EIP_ADDRESS_ANNOTATION]: 'pending' } } },
      },
      mergePatch,
    );
    await sleep(200);
    const notYet = await read('waits');
    expect(condition(notYet, 'Initialized')?.status).toBe('False');
    expect(notYet.status?.initContainerStatuses?.[0]?.state?.running).toBeDefined();

    await t.core.patchNamespacedPod(
      {
        name: 'waits',
        namespace: 'default',
        body: { metadata: { annotations: { [ALLOCATED_EIP_ADDRESS_ANNOTATION]: '47.96.10.20' } } },
      },
      mergePatch,
    );
    const ready = await waitFor('Ready', async () => {
      const current = await read('waits');
      return condition(current, 'Ready')?.status === 'True' ? current : undefined;
    });
    expect(condition(ready, 'Initialized')?.status).toBe('True');
    expect(condition(ready, EIP_CONDITION_TYPE)?.status).toBe('True');
    expect(ready.status?.initContainerStatuses?.[0]).toMatchObject({
      ready: true,
      restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
    });
    expect(ready.status?.containerStatuses?.[0]).toMatchObject({
      name: 'app',
      ready: true,
      started: true,
      image: 'docker.io/library/nginx:1.27',
    });
  });

  it('restarts the init container when its script gives up, as the kubelet would', async () => {
    await t.core.createNamespacedPod({
      namespace: 'default',
      body: barePod('gives-up', { initContainers: [waitInitContainer(1)] }) as k8s.V1Pod,
    });
    const restarted = await waitFor(
      'a restart',
      async () => {
        const current = await read('gives-up');
        return (current.status?.initContainerStatuses?.[0]?.restartCount ?? 0) >= 1 ? current : undefined;
      },
      4000,
    );
    expect(restarted.status?.initContainerStatuses?.[0]).toMatchObject({
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
      state: { running: {} },
    });
    const events = await t.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=gives-up,reason=BackOff',
    });
    expect(events.items[0]?.type).toBe('Warning');
  });
});

describe('what kubectl describe reads', () => {
  it('shows the scheduling and container events of a pod', async () => {
    await t.core.createNamespacedPod({ namespace: 'default', body: barePod('described') as k8s.V1Pod });
    await waitFor('described Ready', async () => condition(await read('described'), 'Ready')?.status === 'True');
    const described = await kubectl(['describe', 'pod', 'described']);
    expect(described).toMatch(/Node:\s+sandbox-node-\d\/\d+\.\d+\.\d+\.\d+/);
    expect(described).toMatch(
      /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/described to sandbox-node-\d/,
    );
    expect(described).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container app/);
  });
});

async function kubectl(args: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cluster-kubectl-'));
  try {
    const config = join(dir, 'kubeconfig');
    await writeFile(config, t.kube.kubeconfig());
    return await new Promise((resolve, reject) => {
      execFile(
        '/usr/bin/kubectl',
        ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 20_000 },
        (error, stdout, stderr) => {
          if (error !== null) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`));
          else resolve(stdout);
        },
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
