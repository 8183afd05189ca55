/**
 * Opaque NextToken values. Real ones are base64 with `+`, `/` and `=` in them
 * (`AAAAAdDWBF2w6Olxc+cMPjUtUMpaCa3hjTbxWpikFyOaihc…`), so ours are too: a client that forgets to
 * URL-encode a token, or encodes it twice, gets a malformed-token error here as it would there.
 */
import { CloudApiError } from './errors.js';

// These three bytes encode to "+/+/", so every token carries both characters; 8 bytes in all end in "=".
const MAGIC = [0xfb, 0xff, 0xbf];

export type PageTokenScope = 'networkInterfaces' | 'tagResources';
const SCOPE_BYTE: Record<PageTokenScope, number> = { networkInterfaces: 1, tagResources: 2 };

export function encodePageToken(scope: PageTokenScope, offset: number): string {
  const bytes = Buffer.alloc(8);
  MAGIC.forEach((byte, index) => bytes.writeUInt8(byte, index));
  bytes.writeUInt8(SCOPE_BYTE[scope], 3);
  bytes.writeUInt32BE(offset, 4);
  return bytes.toString('base64');
}

/** The offset a token stands for; a token that is not one of ours (or is mangled) is rejected. */
export function decodePageToken(scope: PageTokenScope, token: string, errorCode: string): number {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(token) ? Buffer.from(token, 'base64') : Buffer.alloc(0);
  const valid =
    bytes.length === 8 && MAGIC.every((byte, index) => bytes[index] === byte) && bytes[3] === SCOPE_BYTE[scope];
  if (!valid)
    throw new CloudApiError(errorCode, { status: 400, message: `The specified NextToken is not valid: ${token}` });
  return bytes.readUInt32BE(4);
}
