/** Events on pods against the stand-in: aggregation into one object, the window, rate limits, the cap. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as k8s from '@kubernetes/client-node';
import { EventRecorder } from '../../../../binder/kube/events.js';
import { createNamespace, podBody, startKubeEdge, type KubeEdge } from './support.js';

let edge: KubeEdge;

beforeAll(async () => {
  edge = await startKubeEdge();
});
afterAll(async () => {
  await edge.close();
});

async function podSubject(namespace: string, name: string): Promise<{ namespace: string; name: string; uid: string }> {
  await createNamespace(edge, namespace);
  const pod = await edge.core.createNamespacedPod({ namespace, body: podBody(name) });
  return { namespace, name, uid: pod.metadata!.uid! };
}

async function eventsIn(namespace: string): Promise<k8s.CoreV1Event[]> {
  return (await edge.core.listNamespacedEvent({ namespace })).items;
}

describe('EventRecorder', () => {
  it('aggregates identical events into one object whose count grows', async () => {
    const pod = await podSubject('ev-agg', 'room-0');
    let now = Date.parse('2025-05-01T10:00:00Z');
    const recorder = new EventRecorder(edge.core, { host: 'binder-0', now: () => now });
    recorder.record(pod, 'Warning', 'AssociateFailed', 'quota exceeded');
    await recorder.flush();
    now += 1000;
    recorder.record(pod, 'Warning', 'AssociateFailed', 'quota exceeded');
    now += 1000;
    recorder.record(pod, 'Warning', 'AssociateFailed', 'quota exceeded');
    await recorder.flush();
    const events = await eventsIn('ev-agg');
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toMatchObject({
      reason: 'AssociateFailed',
      message: 'quota exceeded',
      type: 'Warning',
      count: 3,
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'ev-agg', name: 'room-0', uid: pod.uid },
      source: { component: 'podeip-binder', host: 'binder-0' },
    });
    expect(event.metadata?.name).toMatch(/^room-0\.[0-9a-f]+$/);
    expect(new Date(event.firstTimestamp!).toISOString()).toBe('2025-05-01T10:00:00.000Z');
    expect(new Date(event.lastTimestamp!).toISOString()).toBe('2025-05-01T10:00:02.000Z');
    expect(edge.sandbox.controls.requestCount({ method: 'POST', path: '/api/v1/namespaces/ev-agg/events' })).toBe(1);

    // A different message is a different event; a repeat after the window is a new object.
    recorder.record(pod, 'Normal', 'Associated', 'bound eip-1 (47.1.1.1)');
    now += 11 * 60_000;
    recorder.record(pod, 'Warning', 'AssociateFailed', 'quota exceeded');
    await recorder.flush();
    const after = await eventsIn('ev-agg');
    expect(after.map((e) => `${e.reason}×${e.count}`).sort()).toEqual([
      'AssociateFailed×1',
      'AssociateFailed×3',
      'Associated×1',
    ]);
  });

  it('folds repeats that arrive while a write is in flight into the next write', async () => {
    const pod = await podSubject('ev-burst', 'room-1');
    const recorder = new EventRecorder(edge.core);
    for (let i = 0; i < 10; i++) recorder.record(pod, 'Normal', 'Binding', 'waiting for the cloud');
    await recorder.flush();
    const events = await eventsIn('ev-burst');
    expect(events.map((e) => e.count)).toEqual([10]);
    expect(
      edge.sandbox.controls.requestCount({ path: /^\/api\/v1\/namespaces\/ev-burst\/events/ }),
    ).toBeLessThanOrEqual(3);
  });

  it('holds a noisy pod to its burst, caps messages at 1 KiB, and never throws', async () => {
    const pod = await podSubject('ev-limits', 'room-2');
    let now = 0;
    const recorder = new EventRecorder(edge.core, { perObjectBurst: 2, perObjectRefillMs: 60_000, now: () => now });
    recorder.record(pod, 'Warning', 'A', 'x'.repeat(5000));
    recorder.record(pod, 'Warning', 'B', 'b');
    recorder.record(pod, 'Warning', 'C', 'c');
    expect(recorder.droppedCount()).toBe(1);
    now += 60_000;
    recorder.record(pod, 'Warning', 'D', 'd');
    await recorder.flush();
    const events = await eventsIn('ev-limits');
    expect(events.map((e) => e.reason).sort()).toEqual(['A', 'B', 'D']);
    expect(Buffer.byteLength(events.find((e) => e.reason === 'A')!.message!, 'utf8')).toBeLessThanOrEqual(1024);

    edge.sandbox.controls.failRequests({ fraction: 1, status: 500, path: '/api/v1/namespaces/ev-limits/events' });
    now += 60_000;
    recorder.record(pod, 'Warning', 'E', 'e');
    await expect(recorder.flush()).resolves.toBeUndefined();
    edge.sandbox.controls.reset();
  });
});
