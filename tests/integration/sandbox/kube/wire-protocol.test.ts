/**
 * The wire contract at the HTTP level, where the clients' assumptions live: watch framing, history and
 * 410, bookmarks, timeouts and selectors; list paging; delete options; the admission hook (mutation,
 * warnings, denial, dry run); and the fault-injection controls.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StatusError, type AdmissionAttributes, type AdmissionChain } from '../../../../sandbox/kube/types.js';
import { podManifest, readWatch, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ bookmarkIntervalMs: 100 });
});
afterAll(async () => {
  await h.close();
});

const json = 'application/json';

async function createPod(
  name: string,
  extra: Parameters<typeof podManifest>[1] = {},
  namespace = 'default',
): Promise<Record<string, unknown>> {
  const response = await h.raw('POST', `/api/v1/namespaces/${namespace}/pods`, {
    body: JSON.stringify(podManifest(name, extra)),
    contentType: json,
  });
  expect(response.status).toBe(201);
  return response.json();
}

describe('watch', () => {
  it('sends the current state as ADDED without a resourceVersion, then only what follows a given one', async () => {
    const first = await createPod('w1', { labels: { w: 'yes' } });
    const since = (first.metadata as { resourceVersion: string }).resourceVersion;
    await createPod('w2', { labels: { w: 'yes' } });
    const initial = await readWatch(h.sandbox, '/api/v1/namespaces/default/pods?watch=true&labelSelector=w%3Dyes', {
      count: 2,
    });
    expect(initial.status).toBe(200);
    expect(initial.events.map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`)).toEqual([
      'ADDED w1',
      'ADDED w2',
    ]);
    expect(initial.events[0]!.object.kind).toBe('Pod');
    const resumed = await readWatch(
      h.sandbox,
      `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${since}&labelSelector=w%3Dyes`,
      { count: 1 },
    );
    expect(resumed.events.map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`)).toEqual([
      'ADDED w2',
    ]);
    const legacy = await readWatch(
      h.sandbox,
      `/api/v1/watch/namespaces/default/pods?resourceVersion=${since}&labelSelector=w%3Dyes`,
      { count: 1 },
    );
    expect(legacy.events[0]!.type).toBe('ADDED');
  });

  it('reports an object leaving the selector as DELETED, and the deletion under a new resourceVersion', async () => {
    await createPod('leaver', { labels: { team: 'a' } });
    const watching = readWatch(h.sandbox, '/api/v1/namespaces/default/pods?watch=true&labelSelector=team%3Da', {
      count: 3,
      timeoutMs: 3000,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.raw('PATCH', '/api/v1/namespaces/default/pods/leaver', {
      body: JSON.stringify({ metadata: { labels: { team: 'b' } } }),
      contentType: 'application/merge-patch+json',
    });
    const back = await h.raw('PATCH', '/api/v1/namespaces/default/pods/leaver', {
      body: JSON.stringify({ metadata: { labels: { team: 'a' } } }),
      contentType: 'application/merge-patch+json',
    });
    const { events } = await watching;
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    const deleted = await h.raw('DELETE', '/api/v1/namespaces/default/pods/leaver');
    const gone = deleted.json<{ metadata: { resourceVersion: string } }>();
    const lastWritten = Number(back.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion);
    expect(Number(gone.metadata.resourceVersion)).toBeGreaterThan(lastWritten);
    expect(Number(gone.metadata.resourceVersion)).toBeLessThan(
      Number(
        (await h.raw('GET', '/api/v1/namespaces/default/pods')).json<{ metadata: { resourceVersion: string } }>()
          .metadata.resourceVersion,
      ) + 1,
    );
  });

  it('answers a resourceVersion older than the history with 200 and one ERROR 410 Expired, then closes', async () => {
    const list = (await h.raw('GET', '/api/v1/namespaces/default/pods')).json<{
      metadata: { resourceVersion: string };
    }>();
    h.sandbox.controls.setWatchHistory(0);
    await createPod('after-compaction');
    const result = await readWatch(
      h.sandbox,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    );
    h.sandbox.controls.setWatchHistory(1000);
    expect(result.status).toBe(200);
    expect(result.closed).toBe(true);
    expect(result.events).toHaveLength(1);
    expect(result.events[0]!.type).toBe('ERROR');
    expect(result.events[0]!.object).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: expect.stringMatching(
        new RegExp(`^too old resource version: ${list.metadata.resourceVersion} \\(\\d+\\)$`),
      ),
      reason: 'Expired',
      code: 410,
    });
  });

  it('sends bookmarks only when asked, and closes after timeoutSeconds', async () => {
    const rv = (await h.raw('GET', '/api/v1/namespaces/default/pods')).json<{ metadata: { resourceVersion: string } }>()
      .metadata.resourceVersion;
    const withBookmarks = await readWatch(
      h.sandbox,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`,
      { timeoutMs: 3000 },
    );
    expect(withBookmarks.closed).toBe(true);
    expect(withBookmarks.events.length).toBeGreaterThanOrEqual(3);
    expect(withBookmarks.events.every((e) => e.type === 'BOOKMARK')).toBe(true);
    expect(withBookmarks.events[0]!.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: rv },
    });
    const without = await readWatch(
      h.sandbox,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      { timeoutMs: 3000 },
    );
    expect(without.events).toEqual([]);
    expect(without.closed).toBe(true);
  });

  it('serves watch-list (sendInitialEvents): the state as ADDED, then a bookmark marking its end', async () => {
    await h.raw('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ metadata: { name: 'initial', labels: { wl: 'yes' } } }),
      contentType: json,
    });
    const result = await readWatch(
      h.sandbox,
      '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=wl',
      { count: 2 },
    );
    expect(result.events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(result.events[1]!.object.metadata).toMatchObject({ annotations: { 'k8s.io/initial-events-end': 'true' } });
  });

  it('flushes the response headers before any event', async () => {
    // Nothing happens to secrets at a future resourceVersion, so the server only ends this watch after its 10 s
    // timeout: headers held back until then would arrive with the end (closed), flushed ones while it is open.
    const result = await readWatch(
      h.sandbox,
      '/api/v1/namespaces/default/secrets?watch=true&resourceVersion=1000000&timeoutSeconds=10',
      { timeoutMs: 300 },
    );
    expect(result).toEqual({ status: 200, events: [], closed: false });
  });
});

describe('lists', () => {
  it('pages with limit and continue, all pages at the first page resourceVersion', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await createPod(name, { labels: { paged: 'yes' } });
    const first = (await h.raw('GET', '/api/v1/namespaces/default/pods?limit=2&labelSelector=paged%3Dyes')).json<{
      kind: string;
      metadata: { continue?: string; resourceVersion: string };
      items: Array<{ kind?: string; metadata: { name: string } }>;
    }>();
    expect(first.kind).toBe('PodList');
    expect(first.items.map((p) => p.metadata.name)).toEqual(['page-a', 'page-b']);
    expect(first.items[0]!.kind).toBeUndefined();
    const second = (
      await h.raw(
        'GET',
        `/api/v1/namespaces/default/pods?limit=2&labelSelector=paged%3Dyes&continue=${encodeURIComponent(first.metadata.continue!)}`,
      )
    ).json<typeof first>();
    expect(second.items.map((p) => p.metadata.name)).toEqual(['page-c']);
    expect(second.metadata.continue).toBeUndefined();
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('pages one namespace only, beside namespaces whose names start with its own, and counts what remains', async () => {
    for (const namespace of ['pg', 'pg-b', 'pg0', 'pg1', 'pgx']) {
      const created = await h.raw('POST', '/api/v1/namespaces', {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
        contentType: json,
      });
      expect(created.status).toBe(201);
      for (const name of ['one', 'two', 'three']) await createPod(name, {}, namespace);
    }
    type PodList = {
      metadata: { continue?: string; remainingItemCount?: number };
      items: Array<{ metadata: { name: string; namespace: string } }>;
    };
    const pages = async (path: string): Promise<PodList[]> => {
      const found: PodList[] = [];
      let token: string | undefined;
      do {
        const page = (
          await h.raw('GET', `${path}${token === undefined ? '' : `&continue=${encodeURIComponent(token)}`}`)
        ).json<PodList>();
        found.push(page);
        token = page.metadata.continue;
      } while (token !== undefined);
      return found;
    };
    const inPg = await pages('/api/v1/namespaces/pg/pods?limit=2');
    expect(inPg.map((page) => page.items.map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`))).toEqual([
      ['pg/one', 'pg/three'],
      ['pg/two'],
    ]);
    expect(inPg.map((page) => page.metadata.remainingItemCount)).toEqual([1, undefined]);
    const everywhere = await pages('/api/v1/pods?limit=4');
    const all = everywhere.flatMap((page) => page.items.map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`));
    expect(all.filter((key) => key.startsWith('pg'))).toEqual(
      ['pg-b', 'pg', 'pg0', 'pg1', 'pgx'].flatMap((ns) => ['one', 'three', 'two'].map((name) => `${ns}/${name}`)),
    );
    expect(everywhere[0]!.metadata.remainingItemCount).toBe(all.length - 4);
    // With a selector the pages still end where the matches do, but nothing is counted.
    const selected = await pages('/api/v1/pods?limit=2&fieldSelector=metadata.name%3Dtwo');
    expect(
      selected.flatMap((page) => page.items.map((pod) => pod.metadata.namespace)).filter((ns) => ns.startsWith('pg')),
    ).toEqual(['pg-b', 'pg', 'pg0', 'pg1', 'pgx']);
    expect(selected.every((page) => page.metadata.remainingItemCount === undefined)).toBe(true);
    expect(selected.at(-1)!.items.length).toBeGreaterThan(0);
  });

  it('answers a bad selector with 400', async () => {
    const response = await h.raw('GET', '/api/v1/pods?fieldSelector=spec.colour%3Dblue');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ reason: 'BadRequest', message: 'field label not supported: spec.colour' });
  });
});

describe('writes', () => {
  it('names a generateName object with five random characters', async () => {
    const response = await h.raw('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ metadata: { generateName: 'cfg-' } }),
      contentType: json,
    });
    expect(response.json<{ metadata: { name: string } }>().metadata.name).toMatch(
      /^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
  });

  it('reports every invalid field in one 422 with causes', async () => {
    const response = await h.raw('POST', '/api/v1/namespaces/default/pods', {
      body: JSON.stringify({ metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'a' }] } }),
      contentType: json,
    });
    expect(response.status).toBe(422);
    const status = response.json<{
      message: string;
      details: { kind: string; causes: Array<{ field: string; reason: string }> };
    }>();
    expect(status.message).toMatch(
      /^Pod "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of .*, spec\.containers\[0\]\.image: Required value\]$/,
    );
    expect(status.details.kind).toBe('Pod');
    expect(status.details.causes.map((c) => `${c.reason} ${c.field}`)).toEqual([
      'FieldValueInvalid metadata.name',
      'FieldValueRequired spec.containers[0].image',
    ]);
  });

  it('refuses creates in a missing namespace (404) and in a terminating one (403)', async () => {
    const missing = await h.raw('POST', '/api/v1/namespaces/nowhere/pods', {
      body: JSON.stringify(podManifest('x')),
      contentType: json,
    });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ message: 'namespaces "nowhere" not found' });
    await h.raw('POST', '/api/v1/namespaces', {
      body: JSON.stringify({ metadata: { name: 'closing' } }),
      contentType: json,
    });
    await createPod('runner', { nodeName: 'node-1' }, 'closing');
    const deleting = await h.raw('DELETE', '/api/v1/namespaces/closing');
    expect(deleting.json<{ status: { phase: string } }>().status.phase).toBe('Terminating');
    const refused = await h.raw('POST', '/api/v1/namespaces/closing/configmaps', {
      body: JSON.stringify({ metadata: { name: 'late' } }),
      contentType: json,
    });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({
      reason: 'Forbidden',
      message:
        'configmaps "late" is forbidden: unable to create new content in namespace closing because it is being terminated',
    });
    h.sandbox.store.delete(h.sandbox.store.resourceType('', 'pods')!, 'closing', 'runner', { gracePeriodSeconds: 0 });
    expect((await h.raw('GET', '/api/v1/namespaces/closing')).status).toBe(404);
  });

  it('honours delete preconditions, gracePeriodSeconds and a Status answer for types that return one', async () => {
    const pod = await createPod('graceful', { nodeName: 'node-1' });
    const wrongUid = await h.raw('DELETE', '/api/v1/namespaces/default/pods/graceful', {
      body: JSON.stringify({ preconditions: { uid: 'other' } }),
      contentType: json,
    });
    expect(wrongUid.status).toBe(409);
    expect(wrongUid.json<{ message: string }>().message).toBe(
      `Operation cannot be fulfilled on pods "graceful": Precondition failed: UID in precondition: other, UID in object meta: ${(pod.metadata as { uid: string }).uid}`,
    );
    const marked = (await h.raw('DELETE', '/api/v1/namespaces/default/pods/graceful?gracePeriodSeconds=5')).json<{
      metadata: { deletionTimestamp: string; deletionGracePeriodSeconds: number };
    }>();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(5);
    expect(Date.parse(marked.metadata.deletionTimestamp) - Date.now()).toBeGreaterThan(3000);
    const finished = await h.raw('DELETE', '/api/v1/namespaces/default/pods/graceful', {
      body: JSON.stringify({ gracePeriodSeconds: 0 }),
      contentType: json,
    });
    expect(finished.status).toBe(200);
    expect((await h.raw('GET', '/api/v1/namespaces/default/pods/graceful')).status).toBe(404);
    await h.raw('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ metadata: { name: 'short' } }),
      contentType: json,
    });
    const status = (await h.raw('DELETE', '/api/v1/namespaces/default/configmaps/short')).json<
      Record<string, unknown>
    >();
    expect(status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Success',
      details: { name: 'short', kind: 'configmaps' },
    });
  });

  it('treats a uid in a PUT as a precondition (409) and a changed uid in a patch as invalid (422)', async () => {
    const pod = await createPod('uid-check');
    const stale = {
      ...pod,
      metadata: {
        ...(pod.metadata as Record<string, unknown>),
        uid: '00000000-0000-0000-0000-000000000000',
        resourceVersion: undefined,
      },
    };
    const put = await h.raw('PUT', '/api/v1/namespaces/default/pods/uid-check', {
      body: JSON.stringify(stale),
      contentType: json,
    });
    expect(put.status).toBe(409);
    expect(put.json<{ message: string }>().message).toContain(
      'Precondition failed: UID in precondition: 00000000-0000-0000-0000-000000000000',
    );
    const patch = await h.raw('PATCH', '/api/v1/namespaces/default/pods/uid-check/status', {
      body: JSON.stringify({
        metadata: { uid: '00000000-0000-0000-0000-000000000000' },
        status: { conditions: [{ type: 'k8s.aliyun.com/eip', status: 'True' }] },
      }),
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(patch.status).toBe(422);
    const matching = await h.raw('PATCH', '/api/v1/namespaces/default/pods/uid-check/status', {
      body: JSON.stringify({
        metadata: { uid: (pod.metadata as { uid: string }).uid },
        status: { conditions: [{ type: 'k8s.aliyun.com/eip', status: 'True' }] },
      }),
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(matching.status).toBe(200);
  });

  it('rejects an unknown patch type with 415 and an SMP with a merge key missing with 400', async () => {
    await createPod('patchy');
    const unknown = await h.raw('PATCH', '/api/v1/namespaces/default/pods/patchy', {
      body: '{}',
      contentType: 'application/x-yaml',
    });
    expect(unknown.status).toBe(415);
    const noKey = await h.raw('PATCH', '/api/v1/namespaces/default/pods/patchy/status', {
      body: JSON.stringify({ status: { conditions: [{ status: 'True' }] } }),
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(noKey.status).toBe(400);
  });
});

describe('admission', () => {
  it('runs the chain for CREATE with dryRun, uses its object, returns its warnings as headers, and maps a StatusError', async () => {
    const seen: AdmissionAttributes[] = [];
    const chain: AdmissionChain = {
      admit: async (attributes) => {
        seen.push(attributes);
        if (attributes.object?.metadata.labels?.deny === 'yes') {
          throw new StatusError({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'admission webhook "pods.podeip.io" denied the request: no',
            reason: 'Forbidden',
            code: 403,
          });
        }
        const object = structuredClone(attributes.object!);
        if (attributes.type.plural === 'pods' && attributes.operation === 'CREATE') {
          (object.spec as { readinessGates?: unknown[] }).readinessGates = [{ conditionType: 'k8s.aliyun.com/eip' }];
        }
        return { object, warnings: ['bandwidth "200" is high', 'second "quoted" warning'] };
      },
    };
    h.sandbox.setAdmission(chain);
    try {
      const created = await h.raw('POST', '/api/v1/namespaces/default/pods?dryRun=All', {
        body: JSON.stringify({ ...podManifest(''), metadata: { generateName: 'adm-' } }),
        contentType: json,
      });
      expect(created.status).toBe(201);
      expect(created.headers.warning).toBe('299 - "bandwidth \\"200\\" is high", 299 - "second \\"quoted\\" warning"');
      expect(created.json<{ spec: { readinessGates: unknown[] } }>().spec.readinessGates).toEqual([
        { conditionType: 'k8s.aliyun.com/eip' },
      ]);
      expect(seen[0]).toMatchObject({
        operation: 'CREATE',
        name: '',
        namespace: 'default',
        dryRun: true,
        userInfo: { username: 'system:admin' },
      });
      expect(seen[0]!.object!.metadata.uid).toBeUndefined();
      expect((seen[0]!.object!.spec as { serviceAccountName: string }).serviceAccountName).toBe('default');
      expect(
        (await h.raw('GET', '/api/v1/namespaces/default/pods?labelSelector=deny')).json<{ items: unknown[] }>().items,
      ).toEqual([]);

      const denied = await h.raw('POST', '/api/v1/namespaces/default/pods', {
        body: JSON.stringify(podManifest('denied', { labels: { deny: 'yes' } })),
        contentType: json,
      });
      expect(denied.status).toBe(403);
      expect(denied.json<{ message: string }>().message).toBe(
        'admission webhook "pods.podeip.io" denied the request: no',
      );

      await h.raw('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
        body: JSON.stringify({ metadata: { name: 'skipped', labels: { deny: 'yes' } }, webhooks: [] }),
        contentType: json,
      });
      expect(seen.some((a) => a.type.plural === 'mutatingwebhookconfigurations')).toBe(false);
      await createPod('admitted');
      await h.raw('DELETE', '/api/v1/namespaces/default/pods/admitted');
      expect(seen.filter((a) => a.name === 'admitted').map((a) => a.operation)).toEqual(['CREATE', 'DELETE']);
      expect(
        seen.find((a) => a.name === 'admitted' && a.operation === 'DELETE')!.oldObject!.metadata.uid,
      ).toBeDefined();
    } finally {
      h.sandbox.setAdmission(undefined);
    }
  });
});

describe('controls', () => {
  it('fails a seeded fraction of matching requests with 429 and Retry-After, or 500', async () => {
    h.sandbox.controls.failRequests({
      fraction: 1,
      status: 429,
      retryAfterSeconds: 3,
      path: '/api/v1/namespaces/default/services',
    });
    const limited = await h.raw('GET', '/api/v1/namespaces/default/services');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect(limited.json()).toMatchObject({ reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 3 } });
    expect((await h.raw('GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
    h.sandbox.controls.failRequests({ fraction: 0.5, status: 500, seed: 7 });
    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push((await h.raw('GET', '/api/v1/namespaces')).status);
    h.sandbox.controls.failRequests({ fraction: 0.5, status: 500, seed: 7 });
    const repeated = [];
    for (let i = 0; i < 20; i++) repeated.push((await h.raw('GET', '/api/v1/namespaces')).status);
    h.sandbox.controls.reset();
    expect(repeated).toEqual(outcomes);
    expect(outcomes.filter((s) => s === 500).length).toBeGreaterThan(3);
    expect(outcomes.filter((s) => s === 200).length).toBeGreaterThan(3);
  });

  it('adds latency, counts requests, and keeps health checks open without a token', async () => {
    h.sandbox.controls.setLatency(150);
    const started = Date.now();
    await h.raw('GET', '/api/v1/namespaces/default');
    h.sandbox.controls.setLatency(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (const path of ['/livez', '/readyz', '/healthz']) {
      const health = await h.raw('GET', path, { token: null });
      expect([health.status, health.body]).toEqual([200, 'ok']);
    }
    expect(h.sandbox.controls.requestCount({ path: '/livez' })).toBe(1);
    expect(h.sandbox.controls.requestCount({ method: 'GET', path: /^\/api\/v1\/namespaces\/default$/ })).toBe(1);
  });
});
