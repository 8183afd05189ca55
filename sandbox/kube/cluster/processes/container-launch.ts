/**
 * How one container of a pod runs as a local process, the way a container runtime would run it: in the
 * pod's network namespace, in a mount namespace of its own where its volumes are at the paths the manifest
 * names and the root filesystem is read-only when asked, as the user and groups its securityContext names,
 * with no new privileges and no capabilities when dropped, and with the environment the kubelet gives every
 * container (the API server's in-cluster address among it). Everything is decided here, purely; the process
 * itself is started by the pod's process runner.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { isRecord } from '../../../../api/is-record.js';
import type { KubeObject } from '../../types.js';
import { jsonList, specOf, stringList, type Json } from '../object-facts.js';
import { normalizedImage } from '../pod-status.js';
import { downwardField } from './downward.js';

/** What a locally runnable image does when started: its ENTRYPOINT, its USER, the commands on its PATH. */
export interface LocalImage {
  entrypoint: string[];
  /** The image's USER; root when absent. */
  user?: number;
  /** The image's WORKDIR; / when absent. */
  workingDir?: string;
  /**
   * Host folders that make up the image's filesystem, bind-mounted read-only at `at` (as /opt/podeip in
   * podeip's image). The container reads them there whatever the permissions of their host ancestors.
   */
  files?: { from: string; at: string }[];
  /** Command names the image provides (a manifest's `command: [podeip, …]`), as argv prefixes. */
  commands?: Record<string, string[]>;
}

/** Images by reference; a reference without a tag matches every tag of that repository. */
export type LocalImages = Record<string, LocalImage>;

export interface LaunchContext {
  /** The pod-sandbox shim, whose network namespace the container joins. */
  sandboxPid: number;
  podIp: string;
  hostIp: string;
  /** Host folders holding each volume's files, by volume name. */
  volumeDirs: Map<string, string>;
  /** An empty host folder the container's mount namespace puts its scratch tmpfs on. */
  scratchDir: string;
  /** The API server as a Service address inside the pod (KUBERNETES_SERVICE_HOST and _PORT). */
  apiService: { host: string; port: number };
  /** The data of a ConfigMap or Secret, for envFrom, configMapKeyRef and secretKeyRef. */
  dataOf(kind: 'configMap' | 'secret', namespace: string, name: string): Record<string, string> | undefined;
}

export interface Launch {
  /** argv of the process to spawn (nsenter … unshare … sh -c script … setpriv … command). */
  argv: string[];
  env: Record<string, string>;
  uid: number;
}

function repositoryOf(image: string): { repository: string; tagged: boolean } {
  const reference = normalizedImage(image);
  const at = reference.indexOf('@');
  if (at >= 0) return { repository: reference.slice(0, at), tagged: true };
  const colon = reference.lastIndexOf(':');
  const slash = reference.lastIndexOf('/');
  return { repository: colon > slash ? reference.slice(0, colon) : reference, tagged: /:[^/]+$/.test(image) };
}

/** The local image a container's image reference runs as, if any. */
export function localImageFor(images: LocalImages, image: string): LocalImage | undefined {
  if (images[image] !== undefined) return images[image];
  const wanted = repositoryOf(image).repository;
  for (const [reference, local] of Object.entries(images)) {
    const candidate = repositoryOf(reference);
    if (!candidate.tagged && candidate.repository === wanted) return local;
  }
  return undefined;
}

/** Single-quoted for sh: the one quoting that leaves nothing for the shell to interpret. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A mountPath's nearest existing ancestor, symlinks resolved (/var/run is /run on most hosts). */
function existingAncestor(path: string): string {
  let current = path;
  while (!existsSync(current)) current = dirname(current);
  return realpathSync(current);
}

class LaunchError extends Error {}

function securityOf(pod: KubeObject, container: Json): Json {
  const podContext = isRecord(specOf(pod).securityContext) ? specOf(pod).securityContext : {};
  const own = isRecord(container.securityContext) ? container.securityContext : {};
  return { ...(podContext as Json), ...own };
}

function environment(pod: KubeObject, container: Json, context: LaunchContext): Record<string, string> {
  const namespace = pod.metadata.namespace!;
  const api = context.apiService;
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOSTNAME: pod.metadata.name!,
    HOME: '/',
    KUBERNETES_SERVICE_HOST: api.host,
    KUBERNETES_SERVICE_PORT: String(api.port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(api.port),
    KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
    [`KUBERNETES_PORT_${api.port}_TCP`]: `tcp://${api.host}:${api.port}`,
    [`KUBERNETES_PORT_${api.port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${api.port}_TCP_PORT`]: String(api.port),
    [`KUBERNETES_PORT_${api.port}_TCP_ADDR`]: api.host,
  };
  const withAddresses: KubeObject = {
    ...pod,
    status: { ...(isRecord(pod.status) ? pod.status : {}), podIP: context.podIp, hostIP: context.hostIp },
  };
  for (const source of jsonList(container.envFrom)) {
    const kind = isRecord(source.configMapRef) ? 'configMap' : 'secret';
    const ref = (source.configMapRef ?? source.secretRef) as Json | undefined;
    if (!isRecord(ref)) continue;
    const all = context.dataOf(kind, namespace, String(ref.name));
    if (all === undefined && ref.optional !== true)
      throw new LaunchError(`${kind === 'configMap' ? 'configmap' : 'secret'} "${String(ref.name)}" not found`);
    for (const [key, value] of Object.entries(all ?? {}))
      env[`${typeof source.prefix === 'string' ? source.prefix : ''}${key}`] = value;
  }
  for (const entry of jsonList(container.env)) {
    const name = String(entry.name);
    if (typeof entry.value === 'string') {
      // $(VAR) refers to a variable defined before it, as the kubelet expands it; $$ escapes.
      env[name] = entry.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, variable?: string) =>
        variable === undefined ? '$' : (env[variable] ?? match),
      );
      continue;
    }
    const from = isRecord(entry.valueFrom) ? entry.valueFrom : {};
    if (isRecord(from.fieldRef)) {
      const field = downwardField(withAddresses, String(from.fieldRef.fieldPath));
      if ('error' in field) throw new LaunchError(field.error);
      env[name] = field.value;
    } else if (isRecord(from.configMapKeyRef) || isRecord(from.secretKeyRef)) {
      const kind = isRecord(from.configMapKeyRef) ? 'configMap' : 'secret';
      const ref = (from.configMapKeyRef ?? from.secretKeyRef) as Json;
      const value = context.dataOf(kind, namespace, String(ref.name))?.[String(ref.key)];
      if (value === undefined) {
        if (ref.optional === true) continue;
        throw new LaunchError(
          `couldn't find key ${String(ref.key)} in ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${namespace}/${String(ref.name)}`,
        );
      }
      env[name] = value;
    } else {
      throw new LaunchError(
        `env ${name}: only value, fieldRef, configMapKeyRef and secretKeyRef are supported by the sandbox`,
      );
    }
  }
  return env;
}

/** The process for a container, or the reason it cannot start (the kubelet's CreateContainerConfigError). */
export function containerLaunch(
  pod: KubeObject,
  container: Json,
  image: LocalImage,
  context: LaunchContext,
): { ok: true; launch: Launch } | { ok: false; error: string } {
  try {
    const security = securityOf(pod, container);
    const uid = typeof security.runAsUser === 'number' ? security.runAsUser : (image.user ?? 0);
    const gid = typeof security.runAsGroup === 'number' ? security.runAsGroup : uid === 0 ? 0 : uid;
    if (security.runAsNonRoot === true && uid === 0)
      throw new LaunchError('container has runAsNonRoot and image will run as root');
    const podSecurity = isRecord(specOf(pod).securityContext) ? specOf(pod).securityContext : {};
    const groups = [
      ...(typeof (podSecurity as Json).fsGroup === 'number' ? [(podSecurity as Json).fsGroup as number] : []),
      ...stringList((podSecurity as Json).supplementalGroups).map(Number),
    ];

    const command = stringList(container.command);
    const args = stringList(container.args);
    const argv =
      command.length > 0
        ? [...(image.commands?.[command[0]!] ?? [command[0]!]), ...command.slice(1), ...args]
        : [...image.entrypoint, ...args];

    const imageFiles = (image.files ?? []).map((layer) => ({ source: layer.from, target: layer.at, readOnly: true }));
    const volumeMounts = jsonList(container.volumeMounts).map((mount) => {
      const source = context.volumeDirs.get(String(mount.name));
      if (source === undefined) throw new LaunchError(`volume ${String(mount.name)} is not set up`);
      const sub = typeof mount.subPath === 'string' && mount.subPath !== '' ? `/${mount.subPath}` : '';
      return { source: `${source}${sub}`, target: String(mount.mountPath), readOnly: mount.readOnly === true };
    });
    // The image's files first, then volumes over them, parents before children.
    const mounts = [
      ...imageFiles,
      ...volumeMounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length),
    ];

    const lines = ['set -e', `mount -t tmpfs -o mode=0700 podeip-sandbox ${shellQuote(context.scratchDir)}`];
    // A mountPath that does not exist on the host is made inside an overlay of its nearest existing folder,
    // so the host's own filesystem never changes.
    const overlaid = new Set<string>();
    for (const mount of mounts) {
      if (existsSync(mount.target)) continue;
      const root = existingAncestor(mount.target);
      if (overlaid.has(root)) continue;
      const layer = `${context.scratchDir}/overlay-${overlaid.size}`;
      overlaid.add(root);
      lines.push(
        `mkdir -p ${shellQuote(`${layer}/upper`)} ${shellQuote(`${layer}/work`)}`,
        `mount -t overlay overlay -o ${shellQuote(`lowerdir=${root},upperdir=${layer}/upper,workdir=${layer}/work`)} ${shellQuote(root)}`,
      );
    }
    for (const mount of mounts) {
      lines.push(
        `mkdir -p ${shellQuote(mount.target)}`,
        `mount --bind ${shellQuote(mount.source)} ${shellQuote(mount.target)}`,
      );
      if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${shellQuote(mount.target)}`);
    }
    if (security.readOnlyRootFilesystem === true) lines.push('mount -o remount,bind,ro /');
    const setpriv = [
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${gid}`,
      groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups',
      // The container dies with the kubelet that started it, as its runtime's shim would end it.
      '--pdeathsig=SIGKILL',
    ];
    if (security.allowPrivilegeEscalation === false) setpriv.push('--no-new-privs');
    const drop = isRecord(security.capabilities) ? stringList(security.capabilities.drop) : [];
    if (drop.includes('ALL')) setpriv.push('--inh-caps=-all', '--bounding-set=-all');
    const workingDir = typeof container.workingDir === 'string' ? container.workingDir : (image.workingDir ?? '/');
    lines.push(`cd ${shellQuote(workingDir)}`, `exec ${setpriv.join(' ')} -- "$@"`);

    return {
      ok: true,
      launch: {
        argv: [
          'nsenter',
          `--net=/proc/${context.sandboxPid}/ns/net`,
          '--',
          'unshare',
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          lines.join('\n'),
          String(container.name),
          ...argv,
        ],
        env: environment(pod, container, context),
        uid,
      },
    };
  } catch (error) {
    if (error instanceof LaunchError) return { ok: false, error: error.message };
    throw error;
  }
}
