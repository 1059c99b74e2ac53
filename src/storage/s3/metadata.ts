// What S3 stores with an object besides its bytes and type: user metadata (`x-amz-meta-*`) and the
// headers it returns as they were given (Cache-Control, Content-Disposition, Content-Encoding,
// Content-Language, Expires), from request headers and back into response headers.
import type http from 'node:http';
import { USER_METADATA_MAX_BYTES, userMetadataBytes } from '../object-metadata.js';
import { STORED_HEADERS, type ObjectMetadata, type StoredHeader } from '../tables.js';
import { S3Error } from './errors.js';

const USER_PREFIX = 'x-amz-meta-';

/** The metadata of a PutObject, CopyObject (REPLACE) or CreateMultipartUpload request. */
export function metadataFromHeaders(headers: http.IncomingHttpHeaders): ObjectMetadata {
  const user: Record<string, string> = {};
  const stored: Partial<Record<StoredHeader, string>> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    // Node gives header names in lower case, as S3 stores metadata names
    if (name.startsWith(USER_PREFIX) && name.length > USER_PREFIX.length) user[name.slice(USER_PREFIX.length)] = value;
    else if ((STORED_HEADERS as readonly string[]).includes(name)) stored[name as StoredHeader] = value;
  }
  // aws-chunked is the framing of this upload, not an encoding of the object (S3 drops it too)
  if (stored['content-encoding'] !== undefined) {
    const encodings = stored['content-encoding']
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked');
    if (encodings.length) stored['content-encoding'] = encodings.join(',');
    else delete stored['content-encoding'];
  }
  if (userMetadataBytes(user) > USER_METADATA_MAX_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      400,
      `Your metadata headers exceed the maximum allowed metadata size (${USER_METADATA_MAX_BYTES} bytes of x-amz-meta-* names and values).`,
      { MaxSizeAllowed: String(USER_METADATA_MAX_BYTES) },
    );
  }
  const metadata: ObjectMetadata = {};
  if (Object.keys(user).length) metadata.user = user;
  if (Object.keys(stored).length) metadata.headers = stored;
  return metadata;
}

/** The response headers of an object's metadata (GetObject, HeadObject). */
export function metadataHeaders(metadata: ObjectMetadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata.headers ?? {})) headers[name] = value;
  for (const [name, value] of Object.entries(metadata.user ?? {})) headers[USER_PREFIX + name] = value;
  return headers;
}
