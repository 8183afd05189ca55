/**
 * The binder's cloud credentials as configured: Alibaba's default chain, or a key file (a mounted Secret,
 * or the `cloud.json` that `podeip sandbox` writes) that is re-read when it changes. Nothing here ever puts
 * a key, a secret or a token into a log line or an error message: only the file's path and field names.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CloudCredentials } from '../cloud/alibaba-credentials.js';
import type { CloudCredentialsConfig } from './types.js';

/** Besides watching: a Secret volume's update can slip past fs.watch (an atomic swap of the ..data link). */
export const KEY_FILE_POLL_MS = 30_000;

export class KeyFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cloud key file ${path}: ${reason}`);
    this.name = 'KeyFileError';
  }
}

/**
 * Reads a key file: JSON with `accessKeyId` and `accessKeySecret` and, for STS, `securityToken`; other fields are
 * ignored.
 */
export function readKeyFile(path: string): Extract<CloudCredentials, { kind: 'access-key' }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeyFileError(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the fault, which may be part of the secret.
    throw new KeyFileError(path, 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new KeyFileError(path, 'must hold a JSON object');
  const fields = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of ['accessKeyId', 'accessKeySecret']) {
    if (typeof fields[name] !== 'string' || fields[name] === '') problems.push(`${name} must be a non-empty string`);
  }
  if (fields.securityToken !== undefined && typeof fields.securityToken !== 'string')
    problems.push('securityToken must be a string');
  if (problems.length > 0) throw new KeyFileError(path, problems.join('; '));
  const token = fields.securityToken as string | undefined;
  return {
    kind: 'access-key',
    accessKeyId: fields.accessKeyId as string,
    accessKeySecret: fields.accessKeySecret as string,
    ...(token === undefined || token === '' ? {} : { securityToken: token }),
  };
}

/** The credentials to sign with right now (the latest key file that read well). */
export interface CredentialsSource {
  current(): CloudCredentials;
  close(): void;
}

/** Reads the key file once (throwing KeyFileError if it is unusable), then watches it for rotation. */
export function credentialsSourceFor(
  config: CloudCredentialsConfig,
  options: { logger: Logger; pollMs?: number },
): CredentialsSource {
  if (config.source === 'default-chain') {
    return { current: () => ({ kind: 'default-chain' }), close: () => undefined };
  }
  return new KeyFileCredentials(config.path, options.logger, options.pollMs ?? KEY_FILE_POLL_MS);
}

class KeyFileCredentials implements CredentialsSource {
  private credentials: Extract<CloudCredentials, { kind: 'access-key' }>;
  private fingerprint: string;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly path: string,
    logger: Logger,
    pollMs: number,
  ) {
    this.logger = logger.child({ component: 'cloud-credentials', keyFile: path });
    this.credentials = readKeyFile(path);
    this.fingerprint = fingerprintOf(this.credentials);
    try {
      // The directory, not the file: kubelet replaces a Secret's files by swapping a symlink beside them.
      this.watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(path) || name.startsWith('..')) this.reload();
      });
      this.watcher.on('error', (error) =>
        this.logger.warn({ reason: error.message }, 'cannot watch the key file; polling only'),
      );
    } catch (error) {
      this.logger.warn({ reason: (error as Error).message }, 'cannot watch the key file; polling only');
    }
    this.poller = setInterval(() => this.reload(), pollMs);
    this.poller.unref();
  }

  current(): CloudCredentials {
    return this.credentials;
  }

  close(): void {
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
  }

  /** Keeps the last good credentials when the new file is unusable (half written, or a bad edit). */
  private reload(): void {
    let next: Extract<CloudCredentials, { kind: 'access-key' }>;
    try {
      next = readKeyFile(this.path);
    } catch (error) {
      this.logger.warn(
        { reason: (error as Error).message },
        'the key file changed but cannot be used; keeping the previous credentials',
      );
      return;
    }
    const fingerprint = fingerprintOf(next);
    if (fingerprint === this.fingerprint) return;
    this.credentials = next;
    this.fingerprint = fingerprint;
    this.logger.info({ sts: next.securityToken !== undefined }, 'cloud credentials changed; using the new ones');
  }
}

/** A digest to compare credentials by, so the values themselves are never kept twice or shown. */
function fingerprintOf(credentials: Extract<CloudCredentials, { kind: 'access-key' }>): string {
  return createHash('sha256')
    .update(JSON.stringify([credentials.accessKeyId, credentials.accessKeySecret, credentials.securityToken ?? '']))
    .digest('hex');
}
