import { badInput } from '../platform/errors.js';
import { STORED_HEADERS, type ObjectMetadata } from './tables.js';

/** S3's limit: the UTF-8 bytes of every user metadata name (without `x-amz-meta-`) and value, summed. */
export const USER_METADATA_MAX_BYTES = 2048;

// an HTTP header name's characters (RFC 9110 token), lower case as S3 stores them
const METADATA_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export function userMetadataBytes(user: Record<string, string>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(user)) bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  return bytes;
}

/** Metadata as stored: names a header could carry, values without control characters, user part ≤ 2 KB. */
export function requireObjectMetadata(metadata: ObjectMetadata, field: string): ObjectMetadata {
  const user = metadata.user ?? {};
  for (const [name, value] of Object.entries(user)) {
    if (!METADATA_NAME.test(name))
      throw badInput(`${field}.user`, `name "${name}" must be lower-case letters, digits and -_.!#$%&'*+^\`|~`);
    if (typeof value !== 'string' || CONTROL.test(value))
      throw badInput(`${field}.user`, `value of "${name}" must be text without control characters`);
  }
  if (userMetadataBytes(user) > USER_METADATA_MAX_BYTES) {
    throw badInput(`${field}.user`, `user metadata is limited to ${USER_METADATA_MAX_BYTES} bytes (names and values, UTF-8)`);
  }
  const headers = metadata.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (!(STORED_HEADERS as readonly string[]).includes(name))
      throw badInput(`${field}.headers`, `"${name}" is not one of ${STORED_HEADERS.join(', ')}`);
    if (typeof value !== 'string' || CONTROL.test(value))
      throw badInput(`${field}.headers`, `value of "${name}" must be text without control characters`);
  }
  const stored: ObjectMetadata = {};
  if (Object.keys(user).length) stored.user = user;
  if (Object.keys(headers).length) stored.headers = headers;
  return stored;
}
