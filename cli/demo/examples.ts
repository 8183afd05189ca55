/**
 * The demo's manifests: deploy/examples/*.yaml, which a cluster should accept, and
 * deploy/examples/refused/*.yaml, which podeip's webhook should refuse. They are sent through the
 * sandbox's API as `kubectl create -f` would send them, and answered in kubectl's words.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Sandbox } from '../../sandbox/index.js';
import { StatusError, type KubeObject, type ResourceType } from '../../sandbox/kube/index.js';

export interface Manifest {
  /** As shown to people: relative to the working directory when that is shorter. */
  file: string;
  object: KubeObject;
}

/** Pods a manifest should end up with: a Pod itself, or a workload's replicas (by its selector). */
export interface ExpectedPods {
  /** `deployment.apps/web-auto-eip`, as kubectl names it. */
  name: string;
  namespace: string;
  count: number;
  matches(pod: KubeObject): boolean;
}

export type ApplyOutcome = { created: true; name: string; warnings: string[] } | { created: false; error: string };

/** deploy/, found from this file both in the source tree and in dist/. */
export function findDeployDir(): string {
  let here = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i += 1) {
    const candidate = join(here, 'deploy');
    if (existsSync(join(candidate, 'kustomization.yaml'))) return candidate;
    here = dirname(here);
  }
  throw new Error('cannot find deploy/ beside the podeip installation');
}

/** deploy/examples. */
export function defaultExamplesDir(): string {
  return join(findDeployDir(), 'examples');
}

export function readManifests(dir: string): Manifest[] {
  if (!existsSync(dir)) return [];
  const manifests: Manifest[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const path = join(dir, name);
    const shown = relative(process.cwd(), path);
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message ?? 'not YAML'}`);
      const object = doc.toJSON() as KubeObject | null;
      if (object !== null)
        manifests.push({ file: shown.length < path.length && !shown.startsWith('..') ? shown : path, object });
    }
  }
  return manifests;
}

function typeOf(sandbox: Sandbox, object: KubeObject): ResourceType {
  const group = (object.apiVersion ?? '').includes('/') ? (object.apiVersion ?? '').split('/')[0]! : '';
  const type = sandbox.kube.store.resourceTypeForKind(group, object.kind ?? '');
  if (type === undefined) throw new Error(`the sandbox does not serve ${object.apiVersion}/${object.kind}`);
  return type;
}

/** `deployment.apps/web-auto-eip`, `pod/gateway-static-eip`. */
export function kubectlName(type: ResourceType, name: string): string {
  return `${type.singular}${type.group === '' ? '' : `.${type.group}`}/${name}`;
}

/** Creates one manifest as `kubectl create -f` would: through admission, webhooks included, as an admin. */
export async function applyManifest(sandbox: Sandbox, manifest: Manifest): Promise<ApplyOutcome> {
  const type = typeOf(sandbox, manifest.object);
  const namespace = type.namespaced ? (manifest.object.metadata.namespace ?? 'default') : undefined;
  try {
    const result = await sandbox.kube.api.create(type, namespace, manifest.object);
    return { created: true, name: kubectlName(type, result.object.metadata.name ?? ''), warnings: result.warnings };
  } catch (error) {
    if (!(error instanceof StatusError)) throw error;
    return {
      created: false,
      error: `Error from server (${error.status.reason}): error when creating "${manifest.file}": ${error.status.message}`,
    };
  }
}

export async function deleteManifest(sandbox: Sandbox, manifest: Manifest): Promise<void> {
  const type = typeOf(sandbox, manifest.object);
  const namespace = type.namespaced ? (manifest.object.metadata.namespace ?? 'default') : undefined;
  try {
    await sandbox.kube.api.delete(type, namespace, manifest.object.metadata.name ?? '', {
      propagationPolicy: 'Background',
    });
  } catch (error) {
    if (!(error instanceof StatusError && error.status.code === 404)) throw error;
  }
}

export function expectedPods(sandbox: Sandbox, manifest: Manifest): ExpectedPods | undefined {
  const { object } = manifest;
  const type = typeOf(sandbox, object);
  const namespace = object.metadata.namespace ?? 'default';
  const name = kubectlName(type, object.metadata.name ?? '');
  if (object.kind === 'Pod') {
    return {
      name,
      namespace,
      count: 1,
      matches: (pod) => pod.metadata.namespace === namespace && pod.metadata.name === object.metadata.name,
    };
  }
  const spec = object.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> } } | undefined;
  const labels = spec?.selector?.matchLabels;
  if (labels === undefined) return undefined;
  return {
    name,
    namespace,
    count: spec?.replicas ?? 1,
    matches: (pod) =>
      pod.metadata.namespace === namespace &&
      Object.entries(labels).every(([key, value]) => pod.metadata.labels?.[key] === value),
  };
}
