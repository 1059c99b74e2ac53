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
