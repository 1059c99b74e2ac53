// Object operations on one key: PutObject, GetObject (Range, conditional headers, response-*
// overrides), HeadObject, DeleteObject. The same writes as every other path: storage.put streams
// the decoded body to a temp file and commits row, event and rename in one transaction.
import type http from 'node:http';
import { AppError } from '../../platform/errors.js';
import { evaluatePreconditions, parseRange, streamObject } from '../object-reads.js';
import type { PutOptions, StorageService } from '../service.js';
import type { ObjectRow } from '../tables.js';
import { noSuchBucket, notImplemented, S3Error } from './errors.js';
import { metadataFromHeaders, metadataHeaders } from './metadata.js';
import { type OperationTable, type S3Request, sendEmpty } from './operations.js';
import { decodeBody } from './payload.js';
import { headerValue } from './signature.js';

const OBJECT_FIELDS = { bucket: 'bucket', key: 'key' };
const PUT_FIELDS = { ...OBJECT_FIELDS, contentType: 'Content-Type', body: 'body' };

/** GetObject's query parameters that override a response header (presigned download links use them). */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

/**
 * Write headers asking for what this endpoint does not do: refused (501) rather than ignored, since
 * ignoring them would be a wrong success (an overwrite the client forbade, a key it thinks encrypts
 * its object, tags or a lock it thinks are set).
 */
const UNSUPPORTED_WRITE_HEADERS = [
  'if-match',
  'if-none-match',
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-tagging',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
];

/** Refuses a write that asks for one of UNSUPPORTED_WRITE_HEADERS (PutObject, CopyObject, multipart). */
export function refuseUnsupportedWriteHeaders(req: http.IncomingMessage): void {
  const asked = UNSUPPORTED_WRITE_HEADERS.find((name) => req.headers[name] !== undefined);
  if (asked) throw notImplemented(`The ${asked} header on a write`);
}

/** The size a PutObject announces: the decoded length of an aws-chunked body, else Content-Length. */
function declaredSize(req: http.IncomingMessage): number | null {
  const declared = headerValue(req, 'x-amz-decoded-content-length') ?? req.headers['content-length'];
  return declared === undefined || !/^\d+$/.test(declared) ? null : Number(declared);
}

/** What PutObject stores besides the bytes (Content-Type, the verified checksum). */
export function putOptionsOf(request: S3Request, check: PutOptions['check']): PutOptions {
  return {
    declaredBytes: declaredSize(request.req),
    contentType: request.req.headers['content-type'],
    metadata: metadataFromHeaders(request.req.headers),
    fields: PUT_FIELDS,
    check,
  };
}

/** The headers every GET/HEAD of an object answers with. */
function objectHeaders(res: http.ServerResponse, row: ObjectRow): void {
  res.setHeader('ETag', row.etag);
  res.setHeader('Last-Modified', row.updatedAt.toUTCString());
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', row.contentType);
  for (const [name, value] of Object.entries(metadataHeaders(row.metadata))) res.setHeader(name, value);
}

/** The stored checksum when asked for; not with a range, whose bytes it does not describe (as S3). */
function checksumHeaders(res: http.ServerResponse, row: ObjectRow, req: http.IncomingMessage, ranged: boolean): void {
  if (!row.checksum || ranged || headerValue(req, 'x-amz-checksum-mode')?.toUpperCase() !== 'ENABLED') return;
  res.setHeader(`x-amz-checksum-${row.checksum.algorithm}`, row.checksum.value);
  res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
}

async function getObject(storage: StorageService, { req, res, bucket, key, query }: S3Request): Promise<void> {
  const opened = await storage.open(bucket, key, OBJECT_FIELDS).catch(async (err: unknown) => {
    // storage looks the object up alone: on a miss, S3 tells a missing bucket from a missing key
    if (err instanceof AppError && err.code === 'NOT_FOUND' && !(await storage.bucket(bucket, 'bucket'))) throw noSuchBucket();
    throw err;
  });
  try {
    const { row, size } = opened;
    objectHeaders(res, row);
    const precondition = evaluatePreconditions(req.headers, row);
    if (precondition === 'not-modified') {
      sendEmpty(res, 304);
      await opened.file.close();
      return;
    }
    if (precondition === 'precondition-failed')
      throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
        Condition: req.headers['if-match'] !== undefined ? 'If-Match' : 'If-Unmodified-Since',
      });
    // a completed multipart object's part boundaries are not kept: the whole object in a part's place
    // would be a wrong success
    if (query.partNumber !== undefined && row.etag.includes('-'))
      throw notImplemented('GetObject and HeadObject with partNumber on a multipart object');
    // an object written whole is its own part 1 (as S3 answers for single-part objects)
    if (query.partNumber !== undefined && query.partNumber !== '1') {
      throw new S3Error('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable', {
        PartNumberRequested: String(query.partNumber),
        ActualPartCount: '1',
      });
    }
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
        RangeRequested: String(req.headers.range),
        ActualObjectSize: String(size),
      });
    }
    checksumHeaders(res, row, req, range !== null);
    for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = query[param];
      if (typeof value === 'string') res.setHeader(header, value);
    }
    await streamObject(req, res, opened, range);
  } catch (err) {
    await opened.file.close().catch(() => {});
    throw err;
  }
}

export function objectOperations(storage: StorageService): Pick<OperationTable, 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject'> {
  return {
    PutObject: {
      action: 'buckets:PutObject',
      async run(request) {
        const { req, res, bucket, key } = request;
        refuseUnsupportedWriteHeaders(req);
        const size = declaredSize(req);
        if (size !== null && size > storage.options.objectMaxBytes) {
          throw new S3Error(
            'EntityTooLarge',
            400,
            `Your proposed upload exceeds the maximum allowed object size (${storage.options.objectMaxBytes} bytes, OBJECT_MAX_BYTES).`,
            {
              ProposedSize: String(size),
              MaxSizeAllowed: String(storage.options.objectMaxBytes),
            },
          );
        }
        const decoded = decodeBody(req, request.auth);
        const row = await storage.put(bucket, key, decoded.bytes, putOptionsOf(request, decoded.check));
        res.setHeader('ETag', row.etag);
        if (row.checksum) res.setHeader(`x-amz-checksum-${row.checksum.algorithm}`, row.checksum.value);
        sendEmpty(res, 200);
      },
    },
    GetObject: { action: 'buckets:GetObject', run: (request) => getObject(storage, request) },
    // the same answer without the bytes (streamObject sends none for HEAD)
    HeadObject: { action: 'buckets:GetObject', run: (request) => getObject(storage, request) },
    DeleteObject: {
      action: 'buckets:DeleteObject',
      async run({ bucket, key, res }) {
        // S3 answers 204 for a key that is not there; a missing bucket is NoSuchBucket
        await storage.deleteObject(bucket, key, OBJECT_FIELDS);
        sendEmpty(res, 204);
      },
    },
  };
}
