/**
 * Pod addresses as Terway (or an overlay) hands them out, and graceful deletion: a pod's IP stays on its
 * ENI while the pod object exists (a finalizer holding it included), and goes, unbinding its EIP as the real
 * cloud does, once the pod is gone.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../../../sandbox/kube/types.js';
import { $Vpc, vpcClient, waitForEipStatus } from '../cloud/support.js';
import {
  barePod,
  conditionOf,
  deployment,
  isReady,
  listPods,
  phaseOf,
  podIp,
  podTemplate,
  startTestCluster,
  waitFor,
  type TestCluster,
} from './support.js';

let t: TestCluster | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function readyPod(cluster: TestCluster, pod: KubeObject): Promise<KubeObject> {
  cluster.store.create(cluster.pods, pod);
  return waitFor(`${pod.metadata.name} Ready`, () => {
    const current = cluster.store.get(cluster.pods, 'default', pod.metadata.name!);
    return current !== undefined && isReady(current) ? current : undefined;
  });
}

function eniHolding(
  cluster: TestCluster,
  ip: string,
): ReturnType<NonNullable<TestCluster['cloud']>['controls']['networkInterfaces']>[number] | undefined {
  return cluster.cloud!.controls.networkInterfaces().find((eni) => eni.privateIpAddresses.includes(ip));
}

async function bindEip(cluster: TestCluster, pod: KubeObject): Promise<string> {
  const vpc = vpcClient(cluster.cloud!);
  const regionId = cluster.cloud!.regionId;
  const allocationId =
    (await vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId }))).body?.allocationId ?? '';
  const eni = eniHolding(cluster, podIp(pod)!)!;
  await vpc.associateEipAddress(
    new $Vpc.AssociateEipAddressRequest({
      regionId,
      allocationId,
      instanceId: eni.networkInterfaceId,
      instanceType: 'NetworkInterface',
      privateIpAddress: podIp(pod)!,
    }),
  );
  await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
  return allocationId;
}

describe('graceful deletion', () => {
  it('shows the pod Terminating with stopped containers, then removes it, frees its IP and unbinds its EIP', async () => {
    t = await startTestCluster();
    const cluster = t;
    const pod = await readyPod(cluster, barePod('leaving'));
    const ip = podIp(pod)!;
    const allocationId = await bindEip(cluster, pod);

    const terminating = cluster.store.delete(cluster.pods, 'default', 'leaving');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    expect(terminating.metadata.deletionGracePeriodSeconds).toBe(30);
    const stopped = await waitFor('containers stopped', () => {
      const current = cluster.store.get(cluster.pods, 'default', 'leaving');
      const state = ((current?.status as { containerStatuses?: Array<{ state: Record<string, unknown> }> } | undefined)
        ?.containerStatuses ?? [])[0]?.state;
      return current !== undefined && state?.terminated !== undefined ? current : undefined;
    });
    expect(conditionOf(stopped, 'Ready')?.status).toBe('False');
    expect(phaseOf(stopped)).toBe('Succeeded');
    expect(eniHolding(cluster, ip)).toBeDefined();

    await waitFor('the pod gone', () => cluster.store.get(cluster.pods, 'default', 'leaving') === undefined, 2000);
    await waitFor('its IP freed', () => eniHolding(cluster, ip) === undefined);
    await waitForEipStatus(vpcClient(cluster.cloud!), cluster.cloud!.regionId, allocationId, 'Available');
  });

  it('keeps the IP and the EIP while a finalizer holds the pod, and frees them when the finalizer goes', async () => {
    t = await startTestCluster();
    const cluster = t;
    const pod = await readyPod(cluster, barePod('held', {}, { finalizers: ['podeip.example.com/hold'] }));
    const ip = podIp(pod)!;
    const allocationId = await bindEip(cluster, pod);

    cluster.store.delete(cluster.pods, 'default', 'held');
    const finished = await waitFor('the kubelet done with it', () => {
      const current = cluster.store.get(cluster.pods, 'default', 'held');
      return current?.metadata.deletionGracePeriodSeconds === 0 ? current : undefined;
    });
    expect(finished.metadata.finalizers).toEqual(['podeip.example.com/hold']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(eniHolding(cluster, ip)).toBeDefined();
    expect(cluster.cloud!.controls.eips().find((eip) => eip.allocationId === allocationId)?.status).toBe('InUse');

    const latest = cluster.store.get(cluster.pods, 'default', 'held')!;
    cluster.store.update(cluster.pods, { ...latest, metadata: { ...latest.metadata, finalizers: [] } });
    expect(cluster.store.get(cluster.pods, 'default', 'held')).toBeUndefined();
    await waitFor('its IP freed', () => eniHolding(cluster, ip) === undefined);
    expect(cluster.cloud!.controls.eips().find((eip) => eip.allocationId === allocationId)).toMatchObject({
      status: 'Available',
      privateIpAddress: '',
    });
  });

  it('never waits longer than the grace period', async () => {
    t = await startTestCluster({ timing: { terminationMs: 60_000, reconcileMs: 200 } });
    const cluster = t;
    await readyPod(cluster, barePod('quick', { terminationGracePeriodSeconds: 1 }));
    const started = Date.now();
    cluster.store.delete(cluster.pods, 'default', 'quick');
    await waitFor('the pod gone', () => cluster.store.get(cluster.pods, 'default', 'quick') === undefined, 20_000);
    // The containers would take 60 s to stop: gone within a quarter of that, only the 1 s grace period ended it,
    // with 14 s left for a busy machine.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('network modes', () => {
  it("shared-eni attaches another Secondary ENI when the node's are full", async () => {
    t = await startTestCluster({ nodes: 1, ipsPerEni: 2 });
    const cluster = t;
    cluster.store.create(
      cluster.store.resourceType('apps', 'deployments')!,
      deployment('dense', 5, podTemplate('dense')),
    );
    const pods = await waitFor('5 Ready pods', () => {
      const found = listPods(cluster.store, 'default', 'app=dense');
      return found.length === 5 && found.every(isReady) ? found : undefined;
    });
    const secondaries = cluster.cloud!.controls.networkInterfaces().filter((eni) => eni.type === 'Secondary');
    expect(secondaries).toHaveLength(3);
    for (const eni of secondaries) expect(eni.privateIpAddresses.length - 1).toBeLessThanOrEqual(2);
    expect(new Set(pods.map(podIp)).size).toBe(5);
  });

  it('exclusive-eni gives each pod its own ENI, deleted with the pod', async () => {
    t = await startTestCluster({ network: 'exclusive-eni' });
    const cluster = t;
    const pod = await readyPod(cluster, barePod('solo'));
    const eni = eniHolding(cluster, podIp(pod)!)!;
    expect(eni).toMatchObject({ type: 'Secondary', primaryIpAddress: podIp(pod) });
    expect(eni.privateIpAddresses).toEqual([podIp(pod)]);
    cluster.store.delete(cluster.pods, 'default', 'solo');
    await waitFor(
      'the ENI deleted',
      () =>
        !cluster
          .cloud!.controls.networkInterfaces()
          .some((other) => other.networkInterfaceId === eni.networkInterfaceId),
    );
  });

  it('overlay gives addresses from a range the cloud does not know', async () => {
    t = await startTestCluster({ network: 'overlay' });
    const cluster = t;
    const pod = await readyPod(cluster, barePod('flat'));
    expect(podIp(pod)).toMatch(/^172\.20\.\d+\.\d+$/);
    expect(eniHolding(cluster, podIp(pod)!)).toBeUndefined();
    const node = cluster.store.get(
      cluster.store.resourceType('', 'nodes')!,
      undefined,
      (pod.spec as { nodeName: string }).nodeName,
    )!;
    expect((node.spec as { podCIDR: string }).podCIDR).toMatch(/^172\.20\.\d+\.0\/24$/);
    expect(cluster.cloud!.controls.networkInterfaces().filter((eni) => eni.type === 'Secondary')).toHaveLength(0);
  });

  it('falls back to overlay addresses without a cloud', async () => {
    t = await startTestCluster({ withCloud: false });
    const pod = await readyPod(t, barePod('offline'));
    expect(podIp(pod)).toMatch(/^172\.20\.\d+\.\d+$/);
  });

  it("gives a hostNetwork pod its node's address and takes none from the ENIs", async () => {
    t = await startTestCluster();
    const cluster = t;
    const before = cluster
      .cloud!.controls.networkInterfaces()
      .reduce((sum, eni) => sum + eni.privateIpAddresses.length, 0);
    const pod = await readyPod(cluster, barePod('host', { hostNetwork: true }));
    const node = cluster.store.get(
      cluster.store.resourceType('', 'nodes')!,
      undefined,
      (pod.spec as { nodeName: string }).nodeName,
    )!;
    const internalIp = (node.status as { addresses: Array<{ type: string; address: string }> }).addresses.find(
      (a) => a.type === 'InternalIP',
    )!.address;
    expect(podIp(pod)).toBe(internalIp);
    expect((pod.status as { hostIP: string }).hostIP).toBe(internalIp);
    expect(eniHolding(cluster, internalIp)?.type).toBe('Primary');
    expect(
      cluster.cloud!.controls.networkInterfaces().reduce((sum, eni) => sum + eni.privateIpAddresses.length, 0),
    ).toBe(before);
  });
});

describe('scheduling', () => {
  it('spreads pods over the nodes and leaves a pod no node fits Pending with a reason', async () => {
    t = await startTestCluster({ nodes: 3 });
    const cluster = t;
    cluster.store.create(
      cluster.store.resourceType('apps', 'deployments')!,
      deployment('spread', 6, podTemplate('spread')),
    );
    const pods = await waitFor('6 scheduled pods', () => {
      const found = listPods(cluster.store, 'default', 'app=spread');
      return found.length === 6 &&
        found.every((pod) => typeof (pod.spec as { nodeName?: string }).nodeName === 'string')
        ? found
        : undefined;
    });
    const perNode = new Map<string, number>();
    for (const pod of pods)
      perNode.set(
        (pod.spec as { nodeName: string }).nodeName,
        (perNode.get((pod.spec as { nodeName: string }).nodeName) ?? 0) + 1,
      );
    expect([...perNode.values()]).toEqual([2, 2, 2]);

    cluster.store.create(cluster.pods, barePod('nowhere', { nodeSelector: { disktype: 'ssd' } }));
    const pending = await waitFor('PodScheduled=False', () => {
      const current = cluster.store.get(cluster.pods, 'default', 'nowhere');
      return current !== undefined && conditionOf(current, 'PodScheduled')?.status === 'False' ? current : undefined;
    });
    expect(conditionOf(pending, 'PodScheduled')).toMatchObject({
      reason: 'Unschedulable',
      message: expect.stringContaining("3 node(s) didn't match Pod's node affinity/selector"),
    });
    expect(phaseOf(pending)).toBe('Pending');
    // Each retry folds into the same Event, counted, as client-go's correlator does.
    const events = cluster.store.resourceType('', 'events')!;
    const failed = await waitFor(
      'a repeated FailedScheduling',
      () => {
        const found = cluster.store.list(events, {
          namespace: 'default',
          fieldSelector: 'involvedObject.name=nowhere,reason=FailedScheduling',
        }).items;
        return found.length === 1 && (found[0] as { count?: number }).count! >= 2 ? found[0] : undefined;
      },
      3000,
    );
    expect(failed).toMatchObject({ type: 'Warning', source: { component: 'default-scheduler' } });
    expect(String(failed.firstTimestamp) <= String(failed.lastTimestamp)).toBe(true);
  });
});
