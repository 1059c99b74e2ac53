// ListObjectsV2 (GET /<bucket>?list-type=2) and ListObjects V1 (GET /<bucket>): query → storage's
// listing → S3's ListBucketResult document, element for element as AWS documents it.
import { ACCOUNT } from '../../platform/aws-account.js';
import { AppError } from '../../platform/errors.js';
import type { ObjectListing, StorageService } from '../service.js';
import type { ObjectRow } from '../tables.js';
import { S3Error } from './errors.js';
import type { OperationTable } from './operations.js';
import { sendXml } from './xml.js';

type Query = Record<string, string | string[]>;

/** A query parameter's value (the first, if repeated), or null when absent. */
function param(query: Query, name: string): string | null {
  const value = query[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** S3 answers at most this many keys and common prefixes per page, whatever max-keys asks. */
export const LIST_MAX_KEYS = 1000;

/** The owner of every object: the one account of this platform (fetch-owner, V1's Contents). */
const OWNER = { ID: ACCOUNT, DisplayName: 'emberplane' };

const invalidArgument = (message: string, name: string, value: string) =>
  new S3Error('InvalidArgument', 400, message, { ArgumentName: name, ArgumentValue: value });

function maxKeysOf(query: Query): number {
  const raw = param(query, 'max-keys');
  if (raw === null || raw === '') return LIST_MAX_KEYS;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2 ** 31 - 1) {
    throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', raw);
  }
  return Math.min(Number(raw), LIST_MAX_KEYS);
}

function encodingOf(query: Query): 'url' | null {
  const raw = param(query, 'encoding-type');
  if (raw === null) return null;
  if (raw.toLowerCase() !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', raw);
  return 'url';
}

/**
 * encoding-type=url: keys (and prefixes, delimiter, start-after) percent-encoded as S3 does, so
 * keys with characters XML cannot carry survive. Everything but unreserved characters and "/" is
 * encoded, "+" and space included, which both `unquote_plus` (botocore) and Go's QueryUnescape
 * (rclone) decode back.
 */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** How keys, prefixes and the delimiter go into the document: as they are, or URL-encoded. */
function encoder(encoding: 'url' | null): (value: string) => string {
  return encoding === 'url' ? urlEncodeKey : (value) => value;
}

function contents(row: ObjectRow, encode: (v: string) => string, withOwner: boolean) {
  return {
    Key: encode(row.key),
    LastModified: row.updatedAt.toISOString(),
    ETag: row.etag,
    Size: row.size,
    ...(withOwner ? { Owner: OWNER } : {}),
    StorageClass: 'STANDARD',
  };
}

async function list(
  storage: StorageService,
  bucket: string,
  args: { prefix: string; delimiter: string | null; limit: number; cursor?: string | null; startAfter?: string | null },
): Promise<ObjectListing | null> {
  // max-keys=0 asks for nothing: an empty, complete page (as MinIO; a truncated page without a
  // token would loop paginators)
  if (args.limit === 0) {
    await storage.listFrom(bucket, { ...args, limit: 0 });
    return null;
  }
  try {
    return await storage.listFrom(bucket, args);
  } catch (err) {
    if (err instanceof AppError && err.field === 'continuationToken') {
      throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', args.cursor ?? '');
    }
    throw err;
  }
}

/** ListObjectsV2: the root element and body of its ListBucketResult. */
export async function listObjectsV2(storage: StorageService, bucket: string, query: Query) {
  const prefix = param(query, 'prefix') ?? '';
  const delimiter = param(query, 'delimiter') || null;
  const maxKeys = maxKeysOf(query);
  const encoding = encodingOf(query);
  const token = param(query, 'continuation-token');
  if (token === '') throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  const startAfter = param(query, 'start-after');
  const fetchOwner = param(query, 'fetch-owner') === 'true';
  const page = await list(storage, bucket, { prefix, delimiter, limit: maxKeys, cursor: token, startAfter });
  const encode = encoder(encoding);
  const objects = page?.objects ?? [];
  const prefixes = page?.commonPrefixes ?? [];
  return {
    Name: bucket,
    Prefix: encode(prefix),
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(page?.hasNextPage ? { NextContinuationToken: page.endCursor } : {}),
    KeyCount: objects.length + prefixes.length,
    MaxKeys: maxKeys,
    ...(delimiter !== null ? { Delimiter: encode(delimiter) } : {}),
    ...(encoding ? { EncodingType: encoding } : {}),
    IsTruncated: page?.hasNextPage ?? false,
    ...(startAfter !== null ? { StartAfter: encode(startAfter) } : {}),
    Contents: objects.map((row) => contents(row, encode, fetchOwner)),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: encode(p) })),
  };
}

/** ListObjects (V1): marker instead of tokens; NextMarker only with a delimiter, as S3. */
export async function listObjectsV1(storage: StorageService, bucket: string, query: Query) {
  const prefix = param(query, 'prefix') ?? '';
  const delimiter = param(query, 'delimiter') || null;
  const maxKeys = maxKeysOf(query);
  const encoding = encodingOf(query);
  const marker = param(query, 'marker') ?? '';
  const page = await list(storage, bucket, { prefix, delimiter, limit: maxKeys, startAfter: marker || null });
  const encode = encoder(encoding);
  return {
    Name: bucket,
    Prefix: encode(prefix),
    Marker: encode(marker),
    ...(page?.hasNextPage && delimiter !== null && page.lastEntry !== null ? { NextMarker: encode(page.lastEntry) } : {}),
    MaxKeys: maxKeys,
    ...(delimiter !== null ? { Delimiter: encode(delimiter) } : {}),
    ...(encoding ? { EncodingType: encoding } : {}),
    IsTruncated: page?.hasNextPage ?? false,
    Contents: (page?.objects ?? []).map((row) => contents(row, encode, true)),
    CommonPrefixes: (page?.commonPrefixes ?? []).map((p) => ({ Prefix: encode(p) })),
  };
}

export function listingOperations(storage: StorageService): Pick<OperationTable, 'ListObjects' | 'ListObjectsV2'> {
  return {
    ListObjects: {
      action: 'buckets:ListObjects',
      async run({ res, bucket, query }) {
        sendXml(res, 200, 'ListBucketResult', await listObjectsV1(storage, bucket, query));
      },
    },
    ListObjectsV2: {
      action: 'buckets:ListObjects',
      async run({ res, bucket, query }) {
        sendXml(res, 200, 'ListBucketResult', await listObjectsV2(storage, bucket, query));
      },
    },
  };
}
