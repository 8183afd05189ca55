/**
 * Two electors on one Lease in the stand-in (which enforces MicroTime's six digits and optimistic
 * concurrency): never two leaders, takeover after a crash only once the lease expired, quick takeover
 * after a graceful release, and a leader that cannot renew steps down before its lease runs out.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isConflict } from '../../../../api/kube/api-clients.js';
import { LeaderElector, type LeaderElectionOptions } from '../../../../api/kube/leader-election.js';
import { eventually, sleep, startKubeEdge, type KubeEdge } from './support.js';

// Short enough for quick tests; the tests that compare moments give themselves wider margins of their own.
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
    await eventually(() => (b.elector.observedLeader() === 'a' ? true : undefined));
    expect(b.elector.isLeader()).toBe(false);
    // Stop its timers without releasing: the lease stays with a until it expires. stop() waits for a
    // renewal in flight, so the lease read next is the last one a wrote.
    await a.elector.stop({ release: false });
    const before = await readLease('crash');
    // Generous: b needs one lease duration plus a retry; the bound only keeps a broken test from hanging.
    await eventually(() => (b.elector.isLeader() ? true : undefined), 20_000);
    // b can only have seen a's last renewal after a stamped it, and must then wait a whole lease duration
    // by its own clock: an ordering of two stamps, not a speed (1 ms for Date's rounding).
    const tookOverAt = b.log.find((l) => l.event === 'started')!.at;
    expect(tookOverAt).toBeGreaterThanOrEqual(Date.parse(before.renewTime) + TIMING.leaseDurationMs - 1);
    const after = await readLease('crash');
    expect(after.holder).toBe('b');
    expect(after.transitions).toBe(before.transitions + 1);
  });

  it('hands over at once when the leader stops gracefully, without waiting for its lease to expire', async () => {
    // a holds an hour-long lease: b can only lead within the test's time if a's release handed it over.
    const a = elector('graceful', 'a', { leaseDurationMs: 3_600_000 });
    await eventually(() => (a.elector.isLeader() ? true : undefined));
    const b = elector('graceful', 'b');
    await eventually(() => (b.elector.observedLeader() === 'a' ? true : undefined));
    expect(b.elector.isLeader()).toBe(false);
    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.log.map((l) => l.event)).toEqual(['started', 'stopped']);
    await eventually(() => (b.elector.isLeader() ? true : undefined), 20_000);
    const lease = await readLease('graceful');
    expect(lease.holder).toBe('b');
    expect(lease.transitions).toBe(1);
  });

  it('steps down before its lease expires when it cannot renew, and no one else leads meanwhile', async () => {
    // An 8 s gap between the renew deadline (2 s) and the lease's expiry (10 s), so that a step-down
    // delayed by a busy machine still comes before the expiry this test checks it against.
    const timing = { leaseDurationMs: 10_000, renewDeadlineMs: 2000 };
    const a = elector('no-renew', 'a', timing);
    await eventually(() => (a.elector.isLeader() ? true : undefined));
    const b = elector('no-renew', 'b', timing);
    await eventually(() => (b.elector.observedLeader() === 'a' ? true : undefined));
    const lastRenew = Date.parse((await readLease('no-renew')).renewTime);
    edge.sandbox.controls.failRequests({
      fraction: 1,
      status: 500,
      path: '/apis/coordination.k8s.io/v1/namespaces/default/leases/no-renew',
    });
    await eventually(() => (a.elector.isLeader() ? undefined : true), 20_000);
    const steppedDown = a.log.find((l) => l.event === 'stopped')!.at;
    expect(steppedDown).toBeLessThan(lastRenew + timing.leaseDurationMs);
    expect(a.signals[0]!.aborted).toBe(true);
    await neverTwoLeaders(a.elector, b.elector, 300);
    expect(b.elector.isLeader()).toBe(false);
    // Once the API answers again, one of them leads again.
    edge.sandbox.controls.reset();
    await eventually(() => leaderOf(a, b), 20_000);
    await neverTwoLeaders(a.elector, b.elector, 300);
  });

  it('renews the lease it wrote without reading it again, and reads when someone else changed it', async () => {
    const path = /\/leases\/renewing$/;
    // A renew deadline far above any request's duration, so that a slow machine cannot make a renewal
    // time out (after which the elector rightly reads the lease again).
    const a = elector('renewing', 'a', { leaseDurationMs: 10_000, renewDeadlineMs: 8000 });
    await eventually(() => (a.elector.isLeader() ? true : undefined), 5000);
    const count = (method: string) => edge.sandbox.controls.requestCount({ method, path });
    const [reads, writes] = [count('GET'), count('PUT')];
    // Four renewals, however long the machine takes for them, and not one read among them.
    await eventually(() => (count('PUT') - writes >= 4 ? true : undefined), 20_000, 'four renewals');
    expect(count('GET') - reads).toBe(0);
    expect(a.elector.isLeader()).toBe(true);

    // Another writer bumps the lease (again if a renewal slipped in between its read and its write).
    let mark = 0;
    for (let bumped = false; !bumped;) {
      mark = edge.sandbox.controls.requestLog().length;
      const lease = await edge.coordination.readNamespacedLease({ namespace: 'default', name: 'renewing' });
      try {
        await edge.coordination.replaceNamespacedLease({
          namespace: 'default',
          name: 'renewing',
          body: { ...lease, metadata: { ...lease.metadata, labels: { touched: 'yes' } } },
        });
        bumped = true;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    // a's next renewal carries a stale resourceVersion and gets 409; then it reads, and renews from what it
    // read. The log after the bump holds exactly that sequence (the bump itself is one GET and one 200 PUT).
    const sequence = (): string[] =>
      edge.sandbox.controls.requestLog({ path }).map((entry) => `${entry.method} ${entry.status}`);
    const before = edge.sandbox.controls
      .requestLog()
      .slice(0, mark)
      .filter((e) => path.test(e.path)).length;
    await eventually(
      () => (/PUT 409,GET 200,PUT 200/.test(sequence().slice(before).join()) ? true : undefined),
      20_000,
      'a conflict, a read and a renewal',
    );
    expect(a.elector.isLeader()).toBe(true);
    expect((await readLease('renewing')).holder).toBe('a');
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
