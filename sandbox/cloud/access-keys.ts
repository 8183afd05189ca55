/**
 * The account's credentials: the sandbox's own key pair, RAM users' keys with denied actions, and STS
 * triples. Ids start with `SANDBOX` (STS ones with `STS.SANDBOX`) so none can be mistaken for a real
 * Alibaba key (`LTAI…`).
 */
import { randomBytes } from 'node:crypto';
import type { AccessKeyGrant } from './types.js';

export interface StoredAccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
  expiresAtMs?: number;
  deniedActions: Set<string>;
  /** How RAM names the caller in AccessDeniedDetail. */
  principalType: 'SubUser' | 'AssumedRoleUser';
  displayName: string;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomText(length: number, alphabet: string): string {
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

export function newAccessKeyId(prefix = 'SANDBOXAK'): string {
  return `${prefix}${randomText(16, KEY_ALPHABET)}`;
}

export function newAccessKeySecret(): string {
  return randomText(30, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
}

export class AccessKeyStore {
  private readonly keys = new Map<string, StoredAccessKey>();

  constructor(private readonly now: () => number) {}

  get(accessKeyId: string): StoredAccessKey | undefined {
    return this.keys.get(accessKeyId);
  }

  addStatic(
    accessKeyId: string,
    accessKeySecret: string,
    deniedActions: string[] = [],
    displayName = 'podeip-sandbox',
  ): StoredAccessKey {
    if (this.keys.has(accessKeyId)) throw new Error(`access key ${accessKeyId} exists already`);
    const key: StoredAccessKey = {
      accessKeyId,
      accessKeySecret,
      deniedActions: new Set(deniedActions),
      principalType: 'SubUser',
      displayName,
    };
    this.keys.set(accessKeyId, key);
    return key;
  }

  issueSts(ttlSeconds: number, deniedActions: string[] = []): StoredAccessKey {
    const key: StoredAccessKey = {
      accessKeyId: newAccessKeyId('STS.SANDBOX'),
      accessKeySecret: newAccessKeySecret(),
      securityToken: `CAIS${randomBytes(96).toString('base64')}`,
      expiresAtMs: this.now() + ttlSeconds * 1000,
      deniedActions: new Set(deniedActions),
      principalType: 'AssumedRoleUser',
      displayName: 'podeip-sandbox-role/session',
    };
    this.keys.set(key.accessKeyId, key);
    return key;
  }
}

export function grantOf(key: StoredAccessKey): AccessKeyGrant {
  return {
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    ...(key.securityToken !== undefined ? { securityToken: key.securityToken } : {}),
    ...(key.expiresAtMs !== undefined
      ? { expiration: new Date(key.expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z') }
      : {}),
  };
}
