/**
 * Whether this machine can run pods as processes the way the sandbox's container runtime does: Linux, root
 * (to make namespaces and mounts), the util-linux and iproute2 tools it drives, and a trial namespace. The
 * demo and the tests ask before they choose the process runtime, and say why when they cannot.
 */
import { spawnSync } from 'node:child_process';

const TOOLS = ['unshare', 'nsenter', 'setpriv', 'mount', 'ip', 'sh'];

let cached: string | undefined | null = null;

/** Why pods cannot run as processes here, or undefined when they can. */
export function processIsolationProblem(): string | undefined {
  if (cached !== null) return cached;
  cached = findProblem();
  return cached;
}

function findProblem(): string | undefined {
  if (process.platform !== 'linux') return `pods run as processes only on Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return 'pods run as processes only as root (namespaces and mounts need it)';
  const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) return `pods run as processes need ${missing.join(', ')} on the PATH`;
  const trial = spawnSync(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'ip link set lo up && mount -t tmpfs x /mnt'],
    { encoding: 'utf8' },
  );
  if (trial.status !== 0)
    return `pods run as processes need network and mount namespaces: ${(trial.stderr || trial.error?.message || '').trim()}`;
  return undefined;
}
