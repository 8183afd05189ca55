/**
 * The wait-for-EIP init container as a contract: how podeip's own is recognised, where it states its
 * timeout, and which address it accepts. The webhook writes the container (webhook/mutation/); anything
 * that must behave as it does (the sandbox's kubelet) reads these instead of the shell text.
 */
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from './constants.js';

/**
 * First line of every script the webhook writes for the container: a pod mutated by an older podeip (or
 * re-created from `kubectl get -o yaml`) is recognised by it and does not get a second one. Keep it stable.
 */
export const WAIT_FOR_EIP_SCRIPT_MARKER = `# podeip: waits for ${ALLOCATED_EIP_ADDRESS_ANNOTATION}`;

/** Environment variable on the container holding its give-up time in whole seconds. */
export const WAIT_TIMEOUT_SECONDS_ENV = 'PODEIP_WAIT_TIMEOUT_SECONDS';

/** The give-up time the script applies: whole seconds, fractions rounded up. */
export function waitTimeoutWholeSeconds(timeoutSeconds: number): number {
  return Math.ceil(timeoutSeconds);
}

type ContainerLike = { command?: unknown; env?: unknown } | null | undefined;

/** podeip's init container: `sh -c <script>` whose script starts with the marker. */
export function isWaitForEipContainer(container: ContainerLike): boolean {
  const command = container?.command;
  return (
    Array.isArray(command) &&
    command[0] === 'sh' &&
    command[1] === '-c' &&
    typeof command[2] === 'string' &&
    command[2].startsWith(WAIT_FOR_EIP_SCRIPT_MARKER)
  );
}

/** The container's give-up time from WAIT_TIMEOUT_SECONDS_ENV; undefined if it states none. */
export function waitTimeoutSeconds(container: ContainerLike): number | undefined {
  const env = Array.isArray(container?.env) ? (container.env as unknown[]) : [];
  const entry = env.find(
    (e): e is { value: unknown } =>
      typeof e === 'object' && e !== null && (e as { name?: unknown }).name === WAIT_TIMEOUT_SECONDS_ENV,
  );
  const value = typeof entry?.value === 'string' ? entry.value : undefined;
  return value !== undefined && /^[1-9][0-9]*$/.test(value) ? Number(value) : undefined;
}

/** The address the container accepts: four dot-separated decimal octets up to 255, no leading zeros. */
export function isIpv4Address(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const octets = value.split('.');
  return octets.length === 4 && octets.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255);
}
