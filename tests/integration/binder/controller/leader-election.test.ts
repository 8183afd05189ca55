/**
 * Two binder replicas on one Lease, each with its own cloud client and metrics: both keep their caches
 * warm, only the leader acts (the other's cloud client makes no write), never both lead at once, and the
 * second takes over when the first stops, or when the Lease is taken from it.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { isConflict } from '../../../../api/kube/api-clients.js';
import {
  conditionOf,
  deletePod,
  eipsOfCluster,
  podBody,
  sleep,
  startTestBinder,
  startWorld,
  storedPod,
  waitFor,
  type TestBinder,
  type World,
} from './support.js';

const NS = 'default';
const LEASE = 'podeip-binder';
let world: World;
let a: TestBinder;
let b: TestBinder;
let watch: TwoLeadersWatch | undefined;

/** Fails the test at the first sample where both replicas say they lead. */
class TwoLeadersWatch {
  samples = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(replicas: () => TestBinder[]) {
    this.done = (async () => {
      while (!this.stopped) {
        const leaders = replicas().filter((r) => r.binder.isLeader()).length;
        if (leaders > 1) throw new Error('two binders lead at once');
        this.samples++;
        await sleep(5);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

beforeAll(async () => {
  world = await startWorld({ cloud: { seed: 31 } });
});
afterAll(async () => {
  // Stopped here too, so a test that fails half-way leaves no sampling loop that keeps jest alive.
  await watch?.stop().catch(() => undefined);
  await a?.stop();
  await b?.stop();
  await world?.close();
});

// A renew deadline far above any renewal's duration, so that a busy machine cannot make a leader step down
// by itself; hand-overs here come from a release or from the Lease being taken, never from an expiry.
const leaderElection = {
  enabled: true,
  namespace: NS,
  leaseName: LEASE,
  leaseDurationSeconds: 10,
  renewDeadlineSeconds: 8,
  retryPeriodSeconds: 0.2,
};
/** The intruder's lease: long enough that b's silence below is checked well before it expires. */
const INTRUDER_LEASE_SECONDS = 8;

/**
 * Writes the Lease as another holder would: read, then replace with that version. b renews every 0.2 s, so a
 * replace can meet a newer version (409 Conflict); like any client of a Lease, read again and retry.
 */
async function takeLease(holderIdentity: string, leaseDurationSeconds: number): Promise<void> {
  const coordination = world.kubeConfig.makeApiClient(CoordinationV1Api);
  for (let attempt = 1; ; attempt++) {
    const lease: V1Lease = await coordination.readNamespacedLease({ namespace: NS, name: LEASE });
    try {
      await coordination.replaceNamespacedLease({
        namespace: NS,
        name: LEASE,
        body: { ...lease, spec: { ...lease.spec, holderIdentity, leaseDurationSeconds } },
      });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 20) throw error;
    }
  }
}

async function createAndWaitReady(name: string): Promise<void> {
  await world.core.createNamespacedPod({
    namespace: NS,
    body: podBody(name, { 'k8s.aliyun.com/pod-with-eip': 'true' }),
  });
  await waitFor(`${name} Ready`, () => conditionOf(storedPod(world, NS, name), 'Ready')?.status === 'True', 20_000);
}

it('only the leader acts; the other takes over when it stops, and when the Lease is taken away', async () => {
  a = await startTestBinder(world, {
    name: 'a',
    config: { leaderElection: { ...leaderElection, identity: 'replica-a' } },
  });
  await waitFor('a leads', () => a.binder.isLeader());
  b = await startTestBinder(world, {
    name: 'b',
    config: { leaderElection: { ...leaderElection, identity: 'replica-b' } },
  });
  await waitFor('b synced', () => b.binder.hasSynced());
  watch = new TwoLeadersWatch(() => [a, b]);

  await createAndWaitReady('led-by-a-1');
  await createAndWaitReady('led-by-a-2');
  expect(await a.cloudWrites()).toBeGreaterThanOrEqual(4);
  expect(await b.cloudWrites()).toBe(0);
  expect(b.binder.isLeader()).toBe(false);

  const writesOfA = await a.cloudWrites();
  await a.stop();
  await waitFor('b leads', () => b.binder.isLeader(), 20_000);
  await createAndWaitReady('led-by-b');
  await deletePod(world, NS, 'led-by-a-1');
  await waitFor('led-by-a-1 EIP released', () => eipsOfCluster(world).length === 2, 20_000);
  expect(await a.cloudWrites()).toBe(writesOfA);
  expect(await b.cloudWrites()).toBeGreaterThanOrEqual(3);

  // The Lease taken from b by someone else: b stops acting at once, and no replica acts until it expires.
  await takeLease('intruder', INTRUDER_LEASE_SECONDS);
  await waitFor('b steps down', () => !b.binder.isLeader(), 20_000);
  const writesOfB = await b.cloudWrites();
  await world.core.createNamespacedPod({
    namespace: NS,
    body: podBody('while-nobody-leads', { 'k8s.aliyun.com/pod-with-eip': 'true' }),
  });
  // b cannot lead again before it has seen the intruder's Lease unchanged for 8 s: 0.7 s of silence is
  // checked well inside that.
  await sleep(700);
  expect(await b.cloudWrites()).toBe(writesOfB);
  expect(b.binder.isLeader()).toBe(false);
  // The intruder never renews: once its Lease has expired, b leads again and binds the pod.
  await waitFor('b leads again', () => b.binder.isLeader(), 20_000);
  await waitFor(
    'while-nobody-leads Ready',
    () => conditionOf(storedPod(world, NS, 'while-nobody-leads'), 'Ready')?.status === 'True',
    20_000,
  );
  expect(await b.cloudWrites()).toBeGreaterThan(writesOfB);

  await watch.stop();
  // Only that the watch sampled all along (a busy machine stretches its 5 ms pauses), not a rate.
  expect(watch.samples).toBeGreaterThan(10);
}, 120_000);
