import crypto from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** EMR-style ids: `j-` clusters, `ig-` groups, `i-` instances, `s-` steps; 13 random characters. */
export function newId(prefix: string, length = 13): string {
  const bytes = crypto.randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return `${prefix}-${out}`;
}

export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

export function secret(bytes = 24): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

/**
 * A name-based (version 5 layout) UUID from a hex digest of at least 32 digits: the same input
 * always gives the same id, as event ids that must survive a retry need.
 */
export function uuidFromDigest(hex: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 3) | 8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
