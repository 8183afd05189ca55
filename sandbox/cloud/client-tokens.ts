/**
 * ClientToken idempotency per (account, action, token): the same token with the same parameters gets the
 * first answer again with no side effect; different parameters get IdempotentParameterMismatch; a retry
 * while the first call is still being answered gets 403 LastTokenProcessing. Only successes are kept, so
 * a call refused for a reason it can fix may be retried with its token. Tokens never expire here (the real
 * retention is undocumented).
 */
import { CloudApiError } from './errors.js';

const MAX_TOKEN_LENGTH = 64;

type TokenEntry =
  { fingerprint: string; state: 'processing' } | { fingerprint: string; state: 'done'; body: Record<string, unknown> };

export type TokenClaim = { kind: 'fresh'; key: string } | { kind: 'replay'; body: Record<string, unknown> };

export class ClientTokenTable {
  private readonly entries = new Map<string, TokenEntry>();

  /** Validates the token and claims it, or says what to answer instead. */
  claim(accountId: string, action: string, token: string, parameters: Readonly<Record<string, string>>): TokenClaim {
    if (token.length > MAX_TOKEN_LENGTH || !/^[\x20-\x7e]+$/.test(token)) {
      throw new CloudApiError('InvalidParameter', {
        message: `Specified value of "ClientToken" is not valid: at most ${MAX_TOKEN_LENGTH} printable ASCII characters.`,
      });
    }
    const key = `${accountId}\n${action}\n${token}`;
    const fingerprint = fingerprintOf(parameters);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { fingerprint, state: 'processing' });
      return { kind: 'fresh', key };
    }
    if (entry.fingerprint !== fingerprint) {
      throw new CloudApiError('IdempotentParameterMismatch', {
        message: `Request uses a client token in a previous request but is not identical to that request: ${token}.`,
      });
    }
    if (entry.state === 'processing')
      throw new CloudApiError('LastTokenProcessing', { message: `The last token request is processing: ${token}.` });
    return { kind: 'replay', body: structuredClone(entry.body) };
  }

  succeeded(key: string, body: Record<string, unknown>): void {
    const entry = this.entries.get(key);
    if (entry) this.entries.set(key, { fingerprint: entry.fingerprint, state: 'done', body: structuredClone(body) });
  }

  failed(key: string): void {
    this.entries.delete(key);
  }
}

/** Every parameter but the token itself, in a fixed order. */
function fingerprintOf(parameters: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.entries(parameters)
      .filter(([name]) => name !== 'ClientToken')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
