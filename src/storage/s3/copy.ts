// CopyObject (PUT /<bucket>/<key> with x-amz-copy-source): the source named by the header, its
// x-amz-copy-source-if-* conditions, the metadata directive, and the CopyObjectResult document.
import type http from 'node:http';
import { AppError } from '../../platform/errors.js';
import { requireBucketName, requireStoredKey } from '../s3-uri.js';
import type { StorageService } from '../service.js';
import type { ObjectRow } from '../tables.js';
import { noSuchBucket, notImplemented, S3Error } from './errors.js';
import { metadataFromHeaders } from './metadata.js';
import { type OperationTable, requireAction } from './operations.js';
import { sendXml } from './xml.js';

export interface CopySource {
  bucket: string;
  key: string;
}

const badCopySource = (message: string, value: string) =>
  new S3Error('InvalidArgument', 400, message, { ArgumentName: 'x-amz-copy-source', ArgumentValue: value });

/**
 * `x-amz-copy-source`: `[/]<bucket>/<url-encoded key>[?versionId=<id>]`. Buckets are not
 * versioned here: a version id other than "null" (the id of an unversioned object) is 501.
 */
export function parseCopySource(header: string | string[] | undefined): CopySource {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) throw badCopySource('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', '');
  const [pathPart, queryPart] = raw.split(/\?(.*)/s, 2) as [string, string | undefined];
  if (queryPart !== undefined) {
    const versionId = new URLSearchParams(queryPart).get('versionId');
    // as ?versionId on any request: copying the latest instead would copy the wrong thing
    if (versionId !== null && versionId !== 'null') throw notImplemented('Copying an object version (x-amz-copy-source ?versionId)');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart.replace(/^\//, ''));
  } catch {
    throw badCopySource('Invalid copy source encoding', raw);
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw badCopySource('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', raw);
  }
  const bucket = decoded.slice(0, slash);
  const key = decoded.slice(slash + 1);
  try {
    requireBucketName(bucket, 'x-amz-copy-source');
    requireStoredKey(key, 'x-amz-copy-source');
  } catch (err) {
    if (err instanceof AppError) throw badCopySource(`Copy Source is not a valid bucket and key: ${err.message}`, raw);
    throw err;
  }
  return { bucket, key };
}

const header = (headers: http.IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((item) => {
    const tag = item.trim();
    return tag === '*' || tag === etag || `"${tag}"` === etag;
  });
}

/** An HTTP date in whole seconds, or null when absent or not a date (S3 ignores those). */
function dateOf(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

const preconditionFailed = (condition: string) =>
  new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: condition });

/**
 * The x-amz-copy-source-if-* conditions (also UploadPartCopy's), as S3 combines them: a matching
 * if-match wins over a failing if-unmodified-since; a failing if-none-match fails whatever
 * if-modified-since says, and decides alone when given.
 */
export function copySourceConditions(headers: http.IncomingHttpHeaders): (source: ObjectRow) => void {
  const ifMatch = header(headers, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(headers, 'x-amz-copy-source-if-none-match');
  const unmodifiedSince = dateOf(header(headers, 'x-amz-copy-source-if-unmodified-since'));
  const modifiedSince = dateOf(header(headers, 'x-amz-copy-source-if-modified-since'));
  return (source) => {
    const modified = Math.floor(source.updatedAt.getTime() / 1000);
    if (ifMatch !== undefined) {
      if (!etagMatches(ifMatch, source.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
    } else if (unmodifiedSince !== null && modified > unmodifiedSince) {
      throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
    }
    if (ifNoneMatch !== undefined) {
      if (etagMatches(ifNoneMatch, source.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
    } else if (modifiedSince !== null && modified <= modifiedSince) {
      throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
    }
  };
}

/** CopyObject onto `target`: the stored object's row (for CopyObjectResult and the ETag header). */
export async function copyObject(
  storage: StorageService,
  source: CopySource,
  target: { bucket: string; key: string },
  headers: http.IncomingHttpHeaders,
): Promise<ObjectRow> {
  const directive = (header(headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 400, 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
      ArgumentValue: directive,
    });
  }
  if (directive === 'COPY' && source.bucket === target.bucket && source.key === target.key) {
    throw new S3Error(
      'InvalidRequest',
      400,
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const replace =
    directive === 'REPLACE' ? { contentType: header(headers, 'content-type') ?? null, metadata: metadataFromHeaders(headers) } : null;
  return storage.copy(source, target, { replace, check: copySourceConditions(headers) });
}

export function copyOperations(storage: StorageService): Pick<OperationTable, 'CopyObject'> {
  return {
    CopyObject: {
      // the target's action; the source's is checked once it is known
      action: 'buckets:PutObject',
      async run(request) {
        const { req, res, bucket, key } = request;
        const source = parseCopySource(req.headers['x-amz-copy-source']);
        requireAction(request, 'buckets:GetObject');
        // a copy has no body of its own: whatever was sent is not read
        const row = await copyObject(storage, source, { bucket, key }, req.headers).catch(async (err: unknown) => {
          // storage looks the source up alone: on a miss, S3 tells a missing bucket from a missing key
          if (
            err instanceof AppError &&
            err.code === 'NOT_FOUND' &&
            err.field === 'copySource' &&
            !(await storage.bucket(source.bucket, 'bucket'))
          )
            throw noSuchBucket();
          throw err;
        });
        sendXml(res, 200, 'CopyObjectResult', { LastModified: row.updatedAt.toISOString(), ETag: row.etag });
      },
    },
  };
}
