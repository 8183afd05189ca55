/**
 * The list-watch against the stand-in through everything it must survive: dropped connections (resumed
 * from the last resourceVersion, no relist), 410 Expired (relist, vanished objects reported as deletes),
 * 500s and 429s (backoff), a server that closes every watch at once (bounded request rate), silence and
 * slowness (the inactivity timeout), and stop.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ListWatch, type ListWatchOptions, type RawKubeObject } from '../../../../api/kube/list-watch.js';
import { podListWatch } from '../../../../binder/kube/pod-list-watch.js';
import { createNamespace, eventually, podBody, sleep, startKubeEdge, type KubeEdge } from './support.js';

interface SlimPod {
  name: string;
  rv: string;
  color?: string;
}

let edge: KubeEdge;
const running: ListWatch<unknown>[] = [];

beforeAll(async () => {
  edge = await startKubeEdge();
});
afterEach(async () => {
  for (const lw of running.splice(0)) await lw.stop();
  edge.sandbox.controls.reset();
  edge.sandbox.controls.setWatchHistory(1000);
  edge.sandbox.controls.setBookmarkInterval(5000);
});
afterAll(async () => {
  await edge.close();
});

/** A list-watch of one namespace's pods that records what its handlers saw. */
function watchPods(
  namespace: string,
  options: Partial<ListWatchOptions<SlimPod>> = {},
): { lw: ListWatch<SlimPod>; seen: string[] } {
  const seen: string[] = [];
  const lw = new ListWatch<SlimPod>({
    kubeConfig: edge.kubeConfig,
    path: `/api/v1/namespaces/${namespace}/pods`,
    project: (o: RawKubeObject) => {
      const m = o.metadata as { name: string; resourceVersion: string; labels?: Record<string, string> };
      return { name: m.name, rv: m.resourceVersion, ...(m.labels?.color ? { color: m.labels.color } : {}) };
    },
    handlers: {
      onAdd: (p) => seen.push(`add ${p.name}`),
      onUpdate: (p, old) => seen.push(`update ${p.name} ${old.color ?? '-'}→${p.color ?? '-'}`),
      onDelete: (p) => seen.push(`delete ${p.name}`),
    },
    ...options,
  });
  running.push(lw as ListWatch<unknown>);
  lw.start();
  return { lw, seen };
}

const has = (seen: string[], entry: string): true | undefined => (seen.includes(entry) ? true : undefined);
const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const lists = (ns: string): number =>
  edge.sandbox.controls.requestCount({ method: 'GET', path: podsPath(ns), watch: false });
const watches = (ns: string): number =>
  edge.sandbox.controls.requestCount({ method: 'GET', path: podsPath(ns), watch: true });

/** The gaps between the first `count` watch requests after the first `skip`, in milliseconds. */
function gapsBetweenWatches(ns: string, skip: number, count: number): number[] {
  const at = edge.sandbox.controls
    .requestLog({ method: 'GET', path: podsPath(ns), watch: true })
    .slice(skip, skip + count)
    .map((entry) => entry.at);
  // Date.now() is whole milliseconds: a gap can read 1 ms short of the delay that caused it.
  return at.slice(1).map((time, i) => time - at[i]! + 1);
}

/** Each gap at least its floor; a failure shows the gaps that were too short. */
function expectGapsAtLeast(gaps: number[], floors: number[]): void {
  expect(gaps.map((gap, i) => (gap >= floors[i]! ? floors[i] : gap))).toEqual(floors);
}

describe('ListWatch', () => {
  it('lists in pages, then sees adds, updates and deletes', async () => {
    await createNamespace(edge, 'lw-basic');
    for (let i = 0; i < 7; i++)
      await edge.core.createNamespacedPod({ namespace: 'lw-basic', body: podBody(`pre-${i}`) });
    const { lw, seen } = watchPods('lw-basic', { pageSize: 3 });
    await lw.waitForSync();
    expect(lw.size).toBe(7);
    expect(lists('lw-basic')).toBe(3);
    expect(
      edge.sandbox.controls
        .requestLog({ method: 'GET', path: podsPath('lw-basic'), watch: false })
        .every((e) => e.query.includes('limit=3')),
    ).toBe(true);

    await edge.core.createNamespacedPod({ namespace: 'lw-basic', body: podBody('p', { labels: { color: 'red' } }) });
    await eventually(() => has(seen, 'add p'));
    await edge.core.patchNamespacedPod({
      namespace: 'lw-basic',
      name: 'p',
      body: [{ op: 'replace', path: '/metadata/labels/color', value: 'blue' }],
    });
    await eventually(() => has(seen, 'update p red→blue'));
    await edge.core.deleteNamespacedPod({ namespace: 'lw-basic', name: 'p' });
    await eventually(() => has(seen, 'delete p'));
    expect(lw.get('lw-basic/p')).toBeUndefined();
    const watchQuery = edge.sandbox.controls.requestLog({ path: podsPath('lw-basic'), watch: true })[0]!.query;
    expect(watchQuery).toContain('allowWatchBookmarks=true');
    expect(watchQuery).toMatch(/timeoutSeconds=\d+/);
  });

  it('lists again in one piece when a continue token expires between pages', async () => {
    await createNamespace(edge, 'lw-continue');
    for (let i = 0; i < 5; i++)
      await edge.core.createNamespacedPod({ namespace: 'lw-continue', body: podBody(`pod-${i}`) });
    let compacted = false;
    const { lw } = watchPods('lw-continue', {
      pageSize: 2,
      project: (o) => {
        const name = (o.metadata as { name: string }).name;
        // While the first page is read, the server moves on and forgets the history the token points into.
        if (!compacted) {
          compacted = true;
          const store = edge.sandbox.store;
          store.create(store.resourceType('', 'pods')!, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'pod-5', namespace: 'lw-continue' },
            spec: { containers: [{ name: 'app', image: 'pause' }] },
          });
          edge.sandbox.controls.setWatchHistory(0);
        }
        return { name, rv: (o.metadata as { resourceVersion: string }).resourceVersion };
      },
    });
    await lw.waitForSync();
    expect(lw.size).toBe(6);
    const listQueries = edge.sandbox.controls
      .requestLog({ method: 'GET', path: podsPath('lw-continue'), watch: false })
      .map((e) => e.query);
    expect(listQueries).toHaveLength(3);
    expect(listQueries[1]).toContain('continue=');
    expect(listQueries[2]).not.toContain('limit=');
  });

  it('resumes from its resourceVersion after dropped connections, without a relist', async () => {
    await createNamespace(edge, 'lw-drop');
    const { lw, seen } = watchPods('lw-drop');
    await lw.waitForSync();
    await edge.core.createNamespacedPod({ namespace: 'lw-drop', body: podBody('before') });
    await eventually(() => has(seen, 'add before'));
    const versionBefore = lw.lastResourceVersion();
    expect(edge.sandbox.controls.dropWatches()).toBeGreaterThan(0);
    // Written while no watch is open: the resumed watch replays it.
    await edge.core.createNamespacedPod({ namespace: 'lw-drop', body: podBody('during') });
    await eventually(() => has(seen, 'add during'));
    edge.sandbox.controls.dropWatches({ graceful: true });
    await edge.core.createNamespacedPod({ namespace: 'lw-drop', body: podBody('after') });
    await eventually(() => has(seen, 'add after'));
    expect(lists('lw-drop')).toBe(1);
    const resumed = edge.sandbox.controls.requestLog({ path: podsPath('lw-drop'), watch: true })[1]!;
    expect(resumed.query).toContain(`resourceVersion=${versionBefore}`);
    expect(seen.filter((s) => s.startsWith('add'))).toEqual(['add before', 'add during', 'add after']);
  });

  it('relists after 410 Expired and reports what vanished meanwhile as deletes', async () => {
    await createNamespace(edge, 'lw-expired');
    await edge.core.createNamespacedPod({ namespace: 'lw-expired', body: podBody('stays') });
    await edge.core.createNamespacedPod({ namespace: 'lw-expired', body: podBody('vanishes') });
    const { lw, seen } = watchPods('lw-expired', { backoff: { initialMs: 100, maxMs: 400 } });
    await lw.waitForSync();
    // Keep it away while the history it would resume from is compacted.
    edge.sandbox.controls.failRequests({ fraction: 1, status: 500, path: podsPath('lw-expired'), methods: ['GET'] });
    edge.sandbox.controls.dropWatches();
    await edge.core.deleteNamespacedPod({ namespace: 'lw-expired', name: 'vanishes' });
    await edge.core.createNamespacedPod({ namespace: 'lw-expired', body: podBody('appears') });
    edge.sandbox.controls.setWatchHistory(0);
    const listsBefore = lists('lw-expired');
    edge.sandbox.controls.failRequests(undefined);
    await eventually(() => has(seen, 'delete vanishes'));
    await eventually(() => has(seen, 'add appears'));
    expect(lists('lw-expired')).toBe(listsBefore + 1);
    expect(lw.keys().sort()).toEqual(['lw-expired/appears', 'lw-expired/stays']);
    expect(seen.filter((s) => s.includes('stays'))).toEqual(['add stays']);
  });

  it('backs off on 500s and on 429s (honouring Retry-After) instead of hammering the server', async () => {
    await createNamespace(edge, 'lw-errors');
    // No jitter: each delay is exactly half its ceiling, 0.1 s, 0.2 s, 0.4 s, then 0.5 s (the first attempt
    // counted may be the first watch after the list, or the one after the dropped watch).
    const { lw, seen } = watchPods('lw-errors', { backoff: { initialMs: 200, maxMs: 1000 }, random: () => 0 });
    await lw.waitForSync();
    edge.sandbox.controls.failRequests({ fraction: 1, status: 500, path: podsPath('lw-errors'), methods: ['GET'] });
    edge.sandbox.controls.dropWatches();
    const start500 = watches('lw-errors');
    await eventually(() => (watches('lw-errors') - start500 >= 5 ? true : undefined), 20_000, 'five failed watches');
    // The gaps between attempts, measured where the server received them, can only be longer than the
    // delays (a busy machine makes them longer still), so they are compared with the delays themselves.
    // client-node 1.4's informer makes thousands of attempts in the same time.
    expectGapsAtLeast(gapsBetweenWatches('lw-errors', start500, 5), [100, 200, 400, 500]);

    edge.sandbox.controls.failRequests({
      fraction: 1,
      status: 429,
      retryAfterSeconds: 1,
      path: podsPath('lw-errors'),
      methods: ['GET'],
    });
    const start429 = watches('lw-errors');
    await eventually(() => (watches('lw-errors') - start429 >= 4 ? true : undefined), 20_000, 'four 429s');
    // Retry-After: 1 outweighs the backoff ceiling: at most one attempt a second.
    expectGapsAtLeast(gapsBetweenWatches('lw-errors', start429, 4), [1000, 1000, 1000]);

    edge.sandbox.controls.failRequests(undefined);
    await edge.core.createNamespacedPod({ namespace: 'lw-errors', body: podBody('recovered') });
    await eventually(() => has(seen, 'add recovered'), 20_000);
  });

  it('keeps a bounded request rate against a server that closes every watch at once', async () => {
    await createNamespace(edge, 'lw-closing');
    const { lw, seen } = watchPods('lw-closing', { backoff: { initialMs: 200, maxMs: 1000 }, random: () => 0 });
    await lw.waitForSync();
    const before = watches('lw-closing');
    let graceful = false;
    // Clean ends and resets alike: a watch that ends within a second counts as a failure.
    const dropper = setInterval(() => {
      graceful = !graceful;
      edge.sandbox.controls.dropWatches({ graceful });
    }, 2);
    try {
      await eventually(() => (watches('lw-closing') - before >= 5 ? true : undefined), 20_000, 'five watches');
    } finally {
      clearInterval(dropper);
    }
    // As with errors: each gap at least the backoff's delay.
    expectGapsAtLeast(gapsBetweenWatches('lw-closing', before, 5), [100, 200, 400, 500]);
    await edge.core.createNamespacedPod({ namespace: 'lw-closing', body: podBody('still-here') });
    await eventually(() => has(seen, 'add still-here'), 20_000);
  });

  it('abandons a silent or stalled connection after the inactivity timeout and resumes', async () => {
    await createNamespace(edge, 'lw-silent');
    const { lw, seen } = watchPods('lw-silent', { inactivityTimeoutMs: 300, backoff: { initialMs: 100, maxMs: 200 } });
    await lw.waitForSync();
    // Bookmarks come every 5 s: a 300 ms inactivity timeout sees silence and reconnects, from its version.
    const before = watches('lw-silent');
    await eventually(() => (watches('lw-silent') - before >= 2 ? true : undefined), 20_000, 'two reconnects');
    expect(lists('lw-silent')).toBe(1);

    // A server that holds every answer back 5 s: the timeout covers waiting for the headers too, so the
    // next attempt arrives before the first could have been answered (after 0.3 s + 0.2 s at most, where
    // waiting for headers would take 5 s: the tenfold margin is for a busy machine).
    edge.sandbox.controls.setLatency(5000);
    edge.sandbox.controls.dropWatches();
    const stalled = watches('lw-silent');
    // Also held back, and answered last: once it is, nothing the server held back is left pending.
    const created = edge.core.createNamespacedPod({ namespace: 'lw-silent', body: podBody('late') });
    await eventually(() => (watches('lw-silent') - stalled >= 2 ? true : undefined), 20_000, 'two stalled attempts');
    const [first, second] = edge.sandbox.controls
      .requestLog({ path: podsPath('lw-silent'), watch: true })
      .slice(stalled)
      .map((entry) => entry.at);
    expect(second! - first!).toBeLessThan(5000);
    expect(edge.sandbox.controls.openWatchCount()).toBe(0);
    edge.sandbox.controls.setLatency(0);
    await created;
    await eventually(() => has(seen, 'add late'), 20_000);
    expect(lists('lw-silent')).toBe(1);
  });

  it('is kept alive by bookmarks shorter than the inactivity timeout', async () => {
    await createNamespace(edge, 'lw-bookmarks');
    edge.sandbox.controls.setBookmarkInterval(50);
    // Bookmarks 20 times as often as the timeout: only a stall of nearly a second could end the watch.
    const { lw } = watchPods('lw-bookmarks', { inactivityTimeoutMs: 1000 });
    await lw.waitForSync();
    await sleep(2500);
    expect(watches('lw-bookmarks')).toBe(1);
  });

  it('stops for good: no request, no handler, no restart', async () => {
    await createNamespace(edge, 'lw-stop');
    const { lw, seen } = watchPods('lw-stop');
    await lw.waitForSync();
    await lw.stop();
    const requests = edge.sandbox.controls.requestCount({ path: podsPath('lw-stop') });
    await edge.core.createNamespacedPod({ namespace: 'lw-stop', body: podBody('unseen') });
    edge.sandbox.controls.dropWatches();
    await sleep(700);
    expect(edge.sandbox.controls.requestCount({ path: podsPath('lw-stop') })).toBe(requests + 1);
    expect(seen).toEqual([]);
    expect(() => lw.start()).toThrow(/stopped/);
  });

  it('keeps only pods with EIP business in the pod cache, and still sees them go', async () => {
    await createNamespace(edge, 'lw-pods');
    const deleted: string[] = [];
    const lw = podListWatch(edge.kubeConfig, {
      namespace: 'lw-pods',
      handlers: { onDelete: (p) => deleted.push(p.name) },
    });
    running.push(lw as ListWatch<unknown>);
    lw.start();
    await lw.waitForSync();
    await edge.core.createNamespacedPod({ namespace: 'lw-pods', body: podBody('plain') });
    await edge.core.createNamespacedPod({
      namespace: 'lw-pods',
      body: podBody('eip', { annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' }, gate: true }),
    });
    const eip = await eventually(() => lw.get('lw-pods/eip'));
    expect(eip.hasEipReadinessGate).toBe(true);
    expect(lw.get('lw-pods/plain')).toBeUndefined();
    await edge.core.deleteNamespacedPod({ namespace: 'lw-pods', name: 'eip' });
    await eventually(() => (deleted.includes('eip') ? true : undefined));
  });
});
