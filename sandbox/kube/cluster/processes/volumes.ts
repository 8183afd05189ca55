/**
 * A pod's volumes on the host's disk, as the kubelet keeps them under /var/lib/kubelet/pods/UID/volumes:
 * configMap, secret, downwardAPI and projected volumes (the ServiceAccount token the ServiceAccount admission
 * adds among them) are written with the kubelet's atomic writer, so a reader sees the old files or the new
 * ones, never a mix: the files are symlinks through `..data`, which is swapped by one rename to a fresh
 * timestamped folder. They are rewritten when their source changes, as the kubelet's sync does; emptyDir is
 * a plain folder.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isRecord } from '../../../../api/is-record.js';
import type { KubeObject } from '../../types.js';
import { jsonList, specOf, type Json } from '../object-facts.js';
import { downwardField } from './downward.js';

/** Where the pod's volumes come from: the API's objects, and tokens the API server signs. */
export interface VolumeSources {
  configMap(namespace: string, name: string): Record<string, Buffer> | undefined;
  secret(namespace: string, name: string): Record<string, Buffer> | undefined;
  /** A token for the pod's ServiceAccount, bound to the pod; the same one until it needs refreshing. */
  token(pod: KubeObject, volume: string, source: { audience?: string; expirationSeconds?: number }): string;
}

interface FileContent {
  content: Buffer;
  mode: number;
}

export type VolumeContent = { kind: 'files'; files: Map<string, FileContent> } | { kind: 'emptyDir' };

/** kubelet's default for configMap, secret, downwardAPI and projected volumes: 0644. */
const DEFAULT_MODE = 0o644;

class VolumeError extends Error {}

function itemsOf(
  data: Record<string, Buffer>,
  items: Json[],
  mode: number,
  optional: boolean,
  what: string,
): Map<string, FileContent> {
  const files = new Map<string, FileContent>();
  if (items.length === 0) {
    for (const [key, content] of Object.entries(data)) files.set(key, { content, mode });
    return files;
  }
  for (const item of items) {
    const content = data[String(item.key)];
    if (content === undefined) {
      if (optional) continue;
      throw new VolumeError(`configmap references non-existent config key: ${String(item.key)} (${what})`);
    }
    files.set(String(item.path), { content, mode: typeof item.mode === 'number' ? item.mode : mode });
  }
  return files;
}

function objectFiles(
  pod: KubeObject,
  ref: Json,
  kind: 'configMap' | 'secret',
  sources: VolumeSources,
  mode: number,
): Map<string, FileContent> {
  const name = String(kind === 'secret' ? (ref.secretName ?? ref.name) : ref.name);
  const data =
    kind === 'secret'
      ? sources.secret(pod.metadata.namespace!, name)
      : sources.configMap(pod.metadata.namespace!, name);
  const optional = ref.optional === true;
  if (data === undefined) {
    if (optional) return new Map();
    throw new VolumeError(`${kind === 'secret' ? 'secret' : 'configmap'} "${name}" not found`);
  }
  return itemsOf(data, jsonList(ref.items), mode, optional, name);
}

function downwardFiles(pod: KubeObject, items: Json[], mode: number): Map<string, FileContent> {
  const files = new Map<string, FileContent>();
  for (const item of items) {
    if (!isRecord(item.fieldRef))
      throw new VolumeError(`downwardAPI item ${String(item.path)}: only fieldRef is supported`);
    const field = downwardField(pod, String(item.fieldRef.fieldPath));
    if ('error' in field) throw new VolumeError(field.error);
    files.set(String(item.path), {
      content: Buffer.from(field.value),
      mode: typeof item.mode === 'number' ? item.mode : mode,
    });
  }
  return files;
}

/** What a volume holds now, or why it cannot be set up (the kubelet's FailedMount message). */
export function volumeContent(
  pod: KubeObject,
  volume: Json,
  sources: VolumeSources,
): { ok: true; content: VolumeContent } | { ok: false; error: string } {
  try {
    if (isRecord(volume.emptyDir)) return { ok: true, content: { kind: 'emptyDir' } };
    const modeOf = (source: Json): number =>
      typeof source.defaultMode === 'number' ? source.defaultMode : DEFAULT_MODE;
    if (isRecord(volume.configMap))
      return {
        ok: true,
        content: {
          kind: 'files',
          files: objectFiles(pod, volume.configMap, 'configMap', sources, modeOf(volume.configMap)),
        },
      };
    if (isRecord(volume.secret))
      return {
        ok: true,
        content: { kind: 'files', files: objectFiles(pod, volume.secret, 'secret', sources, modeOf(volume.secret)) },
      };
    if (isRecord(volume.downwardAPI))
      return {
        ok: true,
        content: {
          kind: 'files',
          files: downwardFiles(pod, jsonList(volume.downwardAPI.items), modeOf(volume.downwardAPI)),
        },
      };
    if (isRecord(volume.projected)) {
      const mode = modeOf(volume.projected);
      const files = new Map<string, FileContent>();
      for (const source of jsonList(volume.projected.sources)) {
        let part: Map<string, FileContent>;
        if (isRecord(source.serviceAccountToken)) {
          const token = source.serviceAccountToken;
          const content = sources.token(pod, String(volume.name), {
            ...(typeof token.audience === 'string' ? { audience: token.audience } : {}),
            ...(typeof token.expirationSeconds === 'number' ? { expirationSeconds: token.expirationSeconds } : {}),
          });
          part = new Map([[String(token.path), { content: Buffer.from(content), mode }]]);
        } else if (isRecord(source.configMap)) part = objectFiles(pod, source.configMap, 'configMap', sources, mode);
        else if (isRecord(source.secret)) part = objectFiles(pod, source.secret, 'secret', sources, mode);
        else if (isRecord(source.downwardAPI)) part = downwardFiles(pod, jsonList(source.downwardAPI.items), mode);
        else
          throw new VolumeError(
            `projected source ${JSON.stringify(Object.keys(source))} is not supported by the sandbox`,
          );
        for (const [path, file] of part) files.set(path, file);
      }
      return { ok: true, content: { kind: 'files', files } };
    }
    const kind = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
    return { ok: false, error: `volume type ${kind} is not supported by the sandbox's kubelet` };
  } catch (error) {
    if (error instanceof VolumeError) return { ok: false, error: error.message };
    throw error;
  }
}

function sameFiles(dir: string, files: Map<string, FileContent>): boolean {
  const data = join(dir, '..data');
  if (!existsSync(data)) return false;
  for (const [path, file] of files) {
    try {
      if (!readFileSync(join(data, path)).equals(file.content)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Writes `files` into `dir` the atomic writer's way, unless it already holds them. `group` (the pod's
 * fsGroup) owns what is written and may read it, as the kubelet's volume ownership does. Returns whether
 * anything changed.
 */
export function writeVolume(dir: string, files: Map<string, FileContent>, group: number | undefined): boolean {
  if (sameFiles(dir, files)) return false;
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint()}`;
  const target = join(dir, stamp);
  mkdirSync(target, { mode: 0o755 });
  const own = (path: string): void => {
    if (group !== undefined) chownSync(path, 0, group);
  };
  own(target);
  for (const [path, file] of files) {
    const full = join(target, path);
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    writeFileSync(full, file.content);
    chmodSync(full, group === undefined ? file.mode : file.mode | 0o440);
    own(full);
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const top of new Set([...files.keys()].map((path) => path.split('/')[0]!))) {
    if (!existsSync(join(dir, top))) symlinkSync(join('..data', top), join(dir, top));
  }
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
  return true;
}

/** The volumes the pod's containers mount, by name. */
export function mountedVolumes(pod: KubeObject): Json[] {
  const spec = specOf(pod);
  const used = new Set(
    [...jsonList(spec.containers), ...jsonList(spec.initContainers)].flatMap((c) =>
      jsonList(c.volumeMounts).map((m) => String(m.name)),
    ),
  );
  return jsonList(spec.volumes).filter((volume) => used.has(String(volume.name)));
}
