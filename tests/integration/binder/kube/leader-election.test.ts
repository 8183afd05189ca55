/**
 * Two electors on one Lease in the stand-in (which enforces MicroTime's six digits and optimistic
 * concurrency): never two leaders, takeover after a crash only once the lease expired, quick takeover
 * after a graceful release, and a leader that cannot renew steps down before its lease runs out.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LeaderElector, type LeaderElectionOptions } from '../../../../binder/kube/leader-election.js';
import { eventually, sleep, startKubeEdge, type KubeEdge } from './support.js';

const TIMING = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
let edge: KubeEdge;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  edge = await startKubeEdge();
});
afterEach(async () => {
  edge.sandbox.controls.reset();
  for (const e of electors.splice(0)) await e.stop({ release: false });
});
afterAll(async () => {
  await edge.close();
});

interface Tracked {
  elector: LeaderElector;
  log: Array<{ at: number; event: 'started' | 'stopped' }>;
  signals: AbortSignal[];
}

function elector(lease: string, identity: string, options: Partial<LeaderElectionOptions> = {}): Tracked {
  const log: Tracked['log'] = [];
  const signals: AbortSignal[] = [];
  const e = new LeaderElector({
    api: edge.coordination,
    namespace: 'default',
    name: lease,
    identity,
    ...TIMING,
    onStartedLeading: (signal) => {
      signals.push(signal);
      log.push({ at: Date.now(), event: 'started' });
    },
    onStoppedLeading: () => log.push({ at: Date.now(), event: 'stopped' }),
    ...options,
  });
  electors.push(e);
  e.start();
  return { elector: e, log, signals };
}

/** Samples both electors every few milliseconds for `ms`, failing on any moment with two leaders. */
async function neverTwoLeaders(a: LeaderElector, b: LeaderElector, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    expect(a.isLeader() && b.isLeader()).toBe(false);
    await sleep(5);
  }
}

async function readLease(name: string): Promise<{ holder: string; transitions: number; renewTime: string }> {
  const lease = await edge.coordination.readNamespacedLease({ namespace: 'default', name });
  return {
    holder: lease.spec?.holderIdentity ?? '',
    transitions: lease.spec?.leaseTransitions ?? 0,
    renewTime: String(lease.spec?.renewTime),
  };
}

const leaderOf = (a: Tracked, b: Tracked): Tracked | undefined =>
  a.elector.isLeader() ? a : b.elector.isLeader() ? b : undefined;

describe('LeaderElector', () => {
  it('elects exactly one of two, with MicroTime stamps the server accepts', async () => {
    const a = elector('one-of-two', 'a');
    const b = elector('one-of-two', 'b');
    const leader = await eventually(() => leaderOf(a, b));
    await neverTwoLeaders(a.elector, b.elector, 1000);
    expect(leaderOf(a, b)).toBe(leader);
    const lease = await readLease('one-of-two');
    expect(lease.holder).toBe(leader === a ? 'a' : 'b');
    expect(lease.renewTime).toMatch(/\.\d{6}Z$/);
    expect((leader === a ? b : a).elector.observedLeader()).toBe(lease.holder);
  });

  it('takes over from a crashed leader only after the lease expired, and counts the transition', async () => {
    const a = elector('crash', 'a');
    await eventually(() => (a.elector.isLeader() ? true : undefined));
    const b = elector('crash', 'b');
    await sleep(300);
    expect(b.elector.isLeader()).toBe(false);
    const before = await readLease('crash');
    const crashedAt = Date.now();
    // Stop its timers without releasing: the lease stays with a until it expires.
    await a.elector.stop({ release: false });
    await eventually(() => (b.elector.isLeader() ? true : undefined), 5000);
    const tookOver = Date.now() - crashedAt;
    expect(tookOver).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs * 2);
    expect(tookOver).toBeLessThan(TIMING.leaseDurationMs + 1500);
    const after = await readLease('crash');
    expect(after.holder).toBe('b');
    expect(after.transitions).toBe(before.transitions + 1);
  });

  it('hands over quickly when the leader stops gracefully', async () => {
    const a = elector('graceful', 'a');
    await eventually(() => (a.elector.isLeader() ? true : undefined));
    const b = elector('graceful', 'b');
    await sleep(300);
    const stoppedAt = Date.now();
    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.log.map((l) => l.event)).toEqual(['started', 'stopped']);
    await eventually(() => (b.elector.isLeader() ? true : undefined), 3000);
    expect(Date.now() - stoppedAt).toBeLessThan(1000);
    expect((await readLease('graceful')).holder).toBe('b');
  });

  it('steps down before its lease expires when it cannot renew, and no one else leads meanwhile', async () => {
    const a = elector('no-renew', 'a');
    await eventually(() => (a.elector.isLeader() ? true : undefined));
    const b = elector('no-renew', 'b');
    await sleep(300);
    const lastRenew = Date.parse((await readLease('no-renew')).renewTime);
    edge.sandbox.controls.failRequests({
      fraction: 1,
      status: 500,
      path: '/apis/coordination.k8s.io/v1/namespaces/default/leases/no-renew',
    });
    await eventually(() => (a.elector.isLeader() ? undefined : true), 3000);
    const steppedDown = a.log.find((l) => l.event === 'stopped')!.at;
    expect(steppedDown).toBeLessThan(lastRenew + TIMING.leaseDurationMs);
    expect(a.signals[0]!.aborted).toBe(true);
    await neverTwoLeaders(a.elector, b.elector, 300);
    expect(b.elector.isLeader()).toBe(false);
    // Once the API answers again, one of them leads again.
    edge.sandbox.controls.reset();
    await eventually(() => leaderOf(a, b), 4000);
    await neverTwoLeaders(a.elector, b.elector, 300);
  });

  it('renews the lease it wrote without reading it again, and reads when someone else changed it', async () => {
    const path = /\/leases\/renewing$/;
    const a = elector('renewing', 'a');
    await eventually(() => (a.elector.isLeader() ? true : undefined), 5000);
    const count = (method: string) => edge.sandbox.controls.requestCount({ method, path });
    const [reads, writes] = [count('GET'), count('PUT')];
    await sleep(1200);
    expect(count('PUT') - writes).toBeGreaterThanOrEqual(4);
    expect(count('GET') - reads).toBe(0);

    // Another writer bumps the lease: the next renewal's resourceVersion is stale, so it reads and renews.
    const lease = await edge.coordination.readNamespacedLease({ namespace: 'default', name: 'renewing' });
    await edge.coordination.replaceNamespacedLease({
      namespace: 'default',
      name: 'renewing',
      body: { ...lease, metadata: { ...lease.metadata, labels: { touched: 'yes' } } },
    });
    const readsBefore = count('GET');
    await sleep(600);
    expect(count('GET') - readsBefore).toBeGreaterThanOrEqual(1);
    expect(a.elector.isLeader()).toBe(true);
  });

  it('refuses timings that could let two replicas lead', () => {
    expect(
      () =>
        new LeaderElector({
          api: edge.coordination,
          namespace: 'default',
          name: 'x',
          identity: 'x',
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
        }),
    ).toThrow(/greater than renewDeadline/);
    expect(
      () =>
        new LeaderElector({
          api: edge.coordination,
          namespace: 'default',
          name: 'x',
          identity: 'x',
          leaseDurationMs: 1500,
        }),
    ).toThrow(/whole seconds/);
  });
});
