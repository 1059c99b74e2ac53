import path from 'node:path';
import { badInput } from '../platform/errors.js';

// Bucket names and object keys, validated like S3's, and their place on the local filesystem.
// Objects live at <bucketsDir>/<bucket>/<key>: the key's segments are directories, so Spark and
// DuckDB can read a prefix as a local directory (the documented s3:// → local path mapping).

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
export const MAX_KEY_BYTES = 1024;

export function requireBucketName(name: string, field: string): string {
  if (!BUCKET_NAME.test(name)) {
    throw badInput(
      field,
      'must be 3 to 63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
    );
  }
  if (name.includes('..')) throw badInput(field, 'must not contain two adjacent periods');
  if (IP_ADDRESS.test(name)) throw badInput(field, 'must not be formatted as an IP address');
  if (name.startsWith('xn--') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')) {
    throw badInput(field, 'must not use a reserved prefix or suffix (xn--, -s3alias, --ol-s3)');
  }
  return name;
}

/**
 * A key is a relative path of non-empty segments: anything that could name a file outside its
 * bucket, or two keys one file, is refused (`..`, `.`, empty segments, a leading or trailing `/`,
 * backslashes, NUL and other control characters).
 */
export function requireObjectKey(key: string, field: string): string {
  if (key.length === 0) throw badInput(field, 'must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw badInput(field, `must be at most ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw badInput(field, 'must not contain NUL or control characters');
  if (key.includes('\\')) throw badInput(field, 'must not contain backslashes');
  if (key.startsWith('/')) throw badInput(field, 'must be relative (no leading "/")');
  if (key.endsWith('/')) throw badInput(field, 'must not end with "/"');
  for (const segment of key.split('/')) {
    if (segment === '') throw badInput(field, 'must not contain empty path segments ("//")');
    if (segment === '.' || segment === '..') throw badInput(field, 'must not contain "." or ".." path segments');
    if (Buffer.byteLength(segment, 'utf8') > 255) throw badInput(field, 'must not have a path segment longer than 255 bytes');
  }
  return key;
}

/**
 * A directory marker: a zero-byte object whose key ends in "/", which s3a, rclone and the consoles
 * create for an empty "folder". Its key is a valid key plus "/"; it has no file of its own (its bytes
 * are always none) and may hold keys under it, as the directory it names does.
 */
export const isDirectoryMarker = (key: string) => key.endsWith('/');

/** A key an object may have: an object key, or a directory marker's (`<object key>/`). */
export function requireStoredKey(key: string, field: string): string {
  if (key.length > 1 && isDirectoryMarker(key)) {
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw badInput(field, `must be at most ${MAX_KEY_BYTES} bytes`);
    requireObjectKey(key.slice(0, -1), field);
    return key;
  }
  return requireObjectKey(key, field);
}

/** A key prefix (for listings and output locations): like a key, but may be empty or end with "/". */
export function requireKeyPrefix(prefix: string, field: string): string {
  if (prefix === '') return prefix;
  requireObjectKey(prefix.endsWith('/') ? prefix.slice(0, -1) || 'x' : prefix, field);
  if (prefix === '/') throw badInput(field, 'must be relative (no leading "/")');
  return prefix;
}

export interface S3Location {
  bucket: string;
  /** the key, or a prefix when the URI names a "directory" (may be empty or end with "/") */
  key: string;
}

/** Parses `s3://bucket/key`. With `allowPrefix` the key may be empty or end with "/". */
export function parseS3Uri(uri: string, field: string, { allowPrefix = false } = {}): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(uri);
  if (!match) throw badInput(field, 'must be an s3://bucket/key URI');
  const bucket = requireBucketName(match[1]!, field);
  const key = allowPrefix ? requireKeyPrefix(match[2]!, field) : requireObjectKey(match[2]!, field);
  return { bucket, key };
}

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** Where an object's bytes live. Only call with a validated bucket name and key. */
export function objectFilePath(bucketsDir: string, bucket: string, key: string): string {
  const file = path.resolve(bucketsDir, bucket, key);
  // defence in depth: validation already refuses every key that could land elsewhere
  if (!file.startsWith(path.resolve(bucketsDir, bucket) + path.sep)) throw badInput('key', 'escapes its bucket');
  return file;
}
