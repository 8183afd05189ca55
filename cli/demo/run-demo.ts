/**
 * `podeip demo` from start to end: start the world, apply the examples as kubectl would, wait until every
 * example pod is Ready with its EIP, show how it got there and what the cloud holds, then delete the
 * examples and wait until podeip has released what it allocated (or, with --keep, leave it all running).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PODEIP_GROUP, PODEIP_OWNERSHIP_TAG_KEYS, PODEIP_PLURAL } from '../../api/constants.js';
import type { KubeObject } from '../../sandbox/kube/index.js';
import { DEMO_STATIC_EIP } from '../commands/sandbox.js';
import {
  applyManifest,
  deleteManifest,
  expectedPods,
  readManifests,
  type ExpectedPods,
  type Manifest,
} from './examples.js';
import { cloudCalls, cloudInventory, podSummary } from './report.js';
import { PodTimeline, podEipFacts, podFacts, type TimelineEntry } from './timeline.js';
import { DEMO_CLUSTER_ID, PODEIP_NAMESPACE, startDemoWorld, type DemoWorld } from './world.js';

export interface DemoOptions {
  examplesDir: string;
  /** Leave everything running after the report, until `interrupted` resolves; files go to `dir`. */
  keep: boolean;
  /** Run podeip in this process even where its pods could run as processes. */
  inProcess: boolean;
  dir: string;
  /** How long the examples may take to converge, and again to be cleaned up. */
  timeoutMs: number;
  logLevel: string;
  loggerFor(program: string): Logger;
  /** Where the programs' own log lines go when they run as pods (stderr). */
  writeLog(line: string): void;
  out(line: string): void;
  /** Resolves when the person running the demo asks it to stop (SIGINT, SIGTERM). */
  interrupted(): Promise<void>;
}

class DemoFailure extends Error {}

const POLL_MS = 100;

export async function runDemo(options: DemoOptions): Promise<boolean> {
  const { out } = options;
  const accepted = readManifests(options.examplesDir);
  const refused = readManifests(join(options.examplesDir, 'refused'));
  if (accepted.length === 0) throw new Error(`no manifests in ${options.examplesDir}`);

  out('podeip demo: the webhook and the binder, on local stand-ins for Kubernetes and Alibaba Cloud');
  const world = await startDemoWorld({
    loggerFor: options.loggerFor,
    logLevel: options.logLevel,
    writeLog: options.writeLog,
    inProcess: options.inProcess,
    ...(options.keep ? { dir: options.dir } : {}),
  });
  const { sandbox } = world;
  out(`  Kubernetes API  ${sandbox.kube.url}  (${sandbox.cluster.nodes().length} nodes, pod IPs on the cloud's ENIs)`);
  out(
    `  Alibaba Cloud   http://${sandbox.cloud.endpoint}  ${sandbox.cloud.regionId} ${sandbox.cloud.vpcId}, with ${DEMO_STATIC_EIP} already allocated`,
  );
  for (const line of world.description) out(line);
  out(
    `  binder          cluster id ${DEMO_CLUSTER_ID}; webhook registered as service ${PODEIP_NAMESPACE}/podeip-webhook`,
  );

  const created: Manifest[] = [];
  // podeip's own pods are part of the install, not of the examples' story.
  const timeline = new PodTimeline(sandbox, new Set(['kube-system', PODEIP_NAMESPACE]));
  timeline.start();
  try {
    const started = Date.now();
    out('');
    out('Applying the examples, as kubectl create -f would:');
    const expected: ExpectedPods[] = [];
    for (const manifest of accepted) {
      const outcome = await applyManifest(sandbox, manifest);
      out(`  $ kubectl create -f ${manifest.file}`);
      if (!outcome.created) throw new DemoFailure(`an example was refused:\n    ${outcome.error}`);
      for (const warning of outcome.warnings) out(`    Warning: ${warning}`);
      out(`    ${outcome.name} created`);
      created.push(manifest);
      const pods = expectedPods(sandbox, manifest);
      if (pods !== undefined) expected.push(pods);
    }
    for (const manifest of refused) {
      const outcome = await applyManifest(sandbox, manifest);
      out(`  $ kubectl create -f ${manifest.file}`);
      if (outcome.created) {
        created.push(manifest);
        throw new DemoFailure(`${outcome.name} was created, but the webhook should have refused it`);
      }
      out(`    ${outcome.error}`);
    }

    const pods = await waitFor(
      options.timeoutMs,
      () => convergence(world, expected),
      (missing) => `these pods did not get Ready with an EIP within ${options.timeoutMs / 1000} s:\n${missing}`,
    );
    const tookSeconds = (Date.now() - started) / 1000;
    out('');
    out(`Timeline (seconds since the first create; every pod starts not Ready):`);
    printEntries(timeline.entries(), out);
    out('');
    out(
      `All ${pods.length} example pods are Ready with their EIPs, ${tookSeconds.toFixed(1)} s after the first create:`,
    );
    for (const line of podSummary(sandbox, pods)) out(`  ${line}`);
    out('');
    out('The cloud’s EIPs:');
    for (const line of cloudInventory(sandbox)) out(`  ${line}`);
    out(`  calls the binder made: ${cloudCalls(sandbox)}`);

    if (options.keep) await keepRunning(world, timeline, options);

    out('');
    out('Cleaning up, as kubectl delete -f would:');
    const before = timeline.entries().length;
    // Pods the user added meanwhile (a scaled Deployment, with --keep) belong to the examples too.
    const tracking = cleanupTracking(world, expected);
    for (const manifest of [...created].reverse()) {
      await deleteManifest(sandbox, manifest);
      out(`  $ kubectl delete -f ${manifest.file}`);
    }
    await waitFor(
      options.timeoutMs,
      () => cleanedUp(world, expected, tracking, timeline),
      (left) => `podeip did not finish cleaning up within ${options.timeoutMs / 1000} s:\n${left}`,
    );
    printEntries(timeline.entries().slice(before), out);
    out('');
    out('The cloud’s EIPs after the cleanup:');
    for (const line of cloudInventory(sandbox)) out(`  ${line}`);
    out('');
    // Every EIP carrying this cluster's tags counts, not only the examples' (pods added with --keep, say).
    const left = sandbox.cloud.controls
      .eips()
      .filter((eip) =>
        eip.tags.some((t) => t.key === PODEIP_OWNERSHIP_TAG_KEYS.clusterId && t.value === DEMO_CLUSTER_ID),
      );
    if (left.length > 0) {
      const owners = left.map((eip) => {
        const tags = Object.fromEntries(eip.tags.map((t) => [t.key, t.value]));
        return `${eip.allocationId} (${tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace]}/${tags[PODEIP_OWNERSHIP_TAG_KEYS.podName]})`;
      });
      out(
        `cleanup of the examples done, but ${left.length} EIP(s) podeip allocated for other pods remain: ${owners.join(', ')}`,
      );
      return true;
    }
    out(`cleanup done: every EIP podeip allocated was released; ${DEMO_STATIC_EIP} is unbound and kept.`);
    return true;
  } catch (error) {
    if (!(error instanceof DemoFailure)) throw error;
    out('');
    out('What happened so far:');
    printEntries(timeline.entries(), out);
    out('');
    out(`demo failed: ${error.message}`);
    out('(everything ran inside this process and stops with it: nothing is left behind)');
    return false;
  } finally {
    timeline.stop();
    await world.close();
  }
}

function printEntries(entries: readonly TimelineEntry[], out: (line: string) => void): void {
  const width = Math.max(0, ...entries.map((e) => e.pod.length));
  for (const e of entries) out(`  ${`+${e.at.toFixed(2)}s`.padStart(8)}  ${e.pod.padEnd(width)}  ${e.what}`);
}

/** Polls `check` until it returns a value; on the deadline, fails with `describe` of its last complaint. */
async function waitFor<T>(
  timeoutMs: number,
  check: () => { done: T } | { waiting: string },
  describe: (waiting: string) => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = check();
    if ('done' in state) return state.done;
    if (Date.now() > deadline) throw new DemoFailure(describe(state.waiting));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function podEipOf(world: DemoWorld, pod: KubeObject): KubeObject | undefined {
  const type = world.sandbox.kube.store.resourceType(PODEIP_GROUP, PODEIP_PLURAL);
  return type === undefined
    ? undefined
    : world.sandbox.kube.store.get(type, pod.metadata.namespace, pod.metadata.name ?? '');
}

function livePods(world: DemoWorld, expected: ExpectedPods): KubeObject[] {
  const store = world.sandbox.kube.store;
  return store
    .list(store.resourceType('', 'pods')!, { namespace: expected.namespace })
    .items.filter((pod) => expected.matches(pod) && pod.metadata.deletionTimestamp === undefined);
}

/** Done when every expected pod exists, is Ready, carries its address, and its PodEIP says InUse. */
function convergence(world: DemoWorld, expected: ExpectedPods[]): { done: KubeObject[] } | { waiting: string } {
  const problems: string[] = [];
  const all: KubeObject[] = [];
  for (const want of expected) {
    const pods = livePods(world, want);
    if (pods.length < want.count) problems.push(`  ${want.name}: ${pods.length} of ${want.count} pods exist`);
    for (const pod of pods) {
      all.push(pod);
      const facts = podFacts(pod);
      const eip = podEipOf(world, pod);
      const missing: string[] = [];
      if (facts.ip === '') missing.push('no IP yet');
      if (eip === undefined) missing.push('no PodEIP');
      else if (podEipFacts(eip).status !== 'InUse')
        missing.push(`PodEIP status ${podEipFacts(eip).status || '(none)'}`);
      if (facts.address === '') missing.push('no allocated-eipAddress annotation');
      const condition = facts.eipCondition;
      if (condition?.status !== 'True') {
        missing.push(
          `condition ${condition === undefined ? 'absent' : `${condition.status} (${condition.reason}${condition.message === '' ? '' : `: ${condition.message}`})`}`,
        );
      }
      if (facts.ready?.status !== 'True')
        missing.push(
          `Ready ${facts.ready?.status ?? 'Unknown'}${facts.ready?.reason ? ` (${facts.ready.reason})` : ''}`,
        );
      if (missing.length > 0) problems.push(`  ${pod.metadata.namespace}/${pod.metadata.name}: ${missing.join('; ')}`);
    }
  }
  return problems.length === 0 ? { done: all } : { waiting: problems.join('\n') };
}

/** What the cleanup waits for: the example pods (by namespace/name) and the EIPs bound to them. */
interface CleanupTracking {
  pods: Set<string>;
  /** allocation id → pod */
  eips: Map<string, string>;
}

function cleanupTracking(world: DemoWorld, expected: ExpectedPods[]): CleanupTracking {
  const tracking: CleanupTracking = { pods: new Set(), eips: new Map() };
  for (const want of expected) {
    for (const pod of livePods(world, want)) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      tracking.pods.add(key);
      const eip = podEipOf(world, pod);
      if (eip !== undefined && podEipFacts(eip).allocationId !== '')
        tracking.eips.set(podEipFacts(eip).allocationId, key);
    }
  }
  return tracking;
}

/**
 * Done when the example pods and their PodEIPs are gone, every EIP podeip allocated for them has left the
 * cloud, and the static EIP is unbound. Notes each EIP's end on the timeline as the cloud shows it.
 */
function cleanedUp(
  world: DemoWorld,
  expected: ExpectedPods[],
  tracking: CleanupTracking,
  timeline: PodTimeline,
): { done: true } | { waiting: string } {
  const left: string[] = [];
  const store = world.sandbox.kube.store;
  for (const want of expected) {
    const pods = store
      .list(store.resourceType('', 'pods')!, { namespace: want.namespace })
      .items.filter((pod) => want.matches(pod));
    for (const pod of pods) left.push(`  pod ${pod.metadata.namespace}/${pod.metadata.name} still exists`);
  }
  const podEips = store.resourceType(PODEIP_GROUP, PODEIP_PLURAL);
  for (const pod of tracking.pods) {
    const [namespace, name] = pod.split('/');
    if (podEips !== undefined && store.get(podEips, namespace, name ?? '') !== undefined)
      left.push(`  PodEIP ${pod} still exists`);
  }
  const eips = world.sandbox.cloud.controls.eips();
  // An EIP allocated for an example pod but not the one its PodEIP named (a replaced allocation) must go too.
  for (const eip of eips) {
    const tags = Object.fromEntries(eip.tags.map((t) => [t.key, t.value]));
    const pod = `${tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace]}/${tags[PODEIP_OWNERSHIP_TAG_KEYS.podName]}`;
    if (
      tags[PODEIP_OWNERSHIP_TAG_KEYS.clusterId] === DEMO_CLUSTER_ID &&
      tracking.pods.has(pod) &&
      !tracking.eips.has(eip.allocationId)
    )
      tracking.eips.set(eip.allocationId, pod);
  }
  for (const [allocationId, pod] of tracking.eips) {
    const eip = eips.find((e) => e.allocationId === allocationId);
    const done =
      allocationId === DEMO_STATIC_EIP ? eip?.status === 'Available' && eip.instanceId === '' : eip === undefined;
    if (done) {
      timeline.note(
        pod,
        allocationId === DEMO_STATIC_EIP
          ? `cloud: ${allocationId} unbound, Available (kept: podeip never releases a static EIP)`
          : `cloud: ${allocationId} released`,
      );
      tracking.eips.delete(allocationId);
    } else {
      left.push(
        `  EIP ${allocationId} (${pod}): ${eip === undefined ? 'gone' : `${eip.status}${eip.instanceId === '' ? '' : ` on ${eip.instanceId}`}`}`,
      );
    }
  }
  return left.length === 0 ? { done: true } : { waiting: left.join('\n') };
}

async function keepRunning(world: DemoWorld, timeline: PodTimeline, options: DemoOptions): Promise<void> {
  const { out } = options;
  const { kubeconfig, binderJson } = world.files;
  out('');
  out(`Files: ${kubeconfig}, ${world.files.cloudJson}, ${binderJson}`);
  out(`  look around:       kubectl --kubeconfig ${kubeconfig} get pods,podeips -o wide`);
  out(`  see a refusal:     kubectl --kubeconfig ${kubeconfig} create -f ${join(options.examplesDir, 'refused')}`);
  out(`  a second binder:   podeip binder --config ${binderJson}   (a standby while the demo's holds the lease)`);
  out(`  the cloud's state: ${world.sandbox.cloud.inventoryUrl}`);
  out('demo ready (Ctrl-C to clean up and stop); what happens to pods from now on is printed below');
  let shown = timeline.entries().length;
  const printer = setInterval(() => {
    const entries = timeline.entries();
    if (entries.length > shown) printEntries(entries.slice(shown), out);
    shown = entries.length;
  }, 250);
  try {
    await options.interrupted();
  } finally {
    clearInterval(printer);
  }
}
