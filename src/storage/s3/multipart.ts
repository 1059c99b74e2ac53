// Multipart uploads over S3: CreateMultipartUpload (POST ?uploads), UploadPart (PUT ?partNumber&uploadId),
// UploadPartCopy (the same with x-amz-copy-source), CompleteMultipartUpload (POST ?uploadId),
// AbortMultipartUpload (DELETE ?uploadId), ListParts (GET ?uploadId), ListMultipartUploads
// (GET /<bucket>?uploads). The rules live in MultipartService; this file translates HTTP ⇄ calls.
import type http from 'node:http';
import type { Logger } from 'pino';
import { AppError } from '../../platform/errors.js';
import type { CompletedPart, MultipartS3Code, MultipartService } from '../multipart-service.js';
import type { MultipartUploadRow, ObjectChecksum } from '../tables.js';
import { OWNER } from './buckets.js';
import { copySourceConditions, parseCopySource } from './copy.js';
import { metadataFromHeaders } from './metadata.js';
import { S3Error, s3ErrorOf } from './errors.js';
import { type OperationTable, requireAction, type S3Operation, type S3Request } from './operations.js';
import { decodeBody } from './payload.js';
import { headerValue } from './signature.js';
import { parseXml, readSmallBody, sendXml, xmlDocument } from './xml.js';

const S3_STATUS: Record<MultipartS3Code, number> = {
  NoSuchUpload: 404,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  EntityTooSmall: 400,
  EntityTooLarge: 400,
  MalformedXML: 400,
  InvalidArgument: 400,
};

/** The service's multipart errors as S3's (the rest goes to the endpoint's own translation). */
function s3Error(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  const code = err.extensions?.s3Code;
  if (typeof code === 'string' && code in S3_STATUS) return new S3Error(code, S3_STATUS[code as MultipartS3Code], err.message);
  if (err.code === 'NOT_FOUND' && err.field === 'copySourceBucket')
    return new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
  if (err.code === 'NOT_FOUND' && err.field === 'copySource') return new S3Error('NoSuchKey', 404, 'The specified key does not exist.');
  return err;
}

const operation = (action: string, run: (request: S3Request) => Promise<void>): S3Operation => ({
  action,
  run: (request) => run(request).catch((err) => Promise.reject(s3Error(err))),
});

const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

function uploadIdOf(request: S3Request): string {
  return one(request.query.uploadId) ?? '';
}

function partNumberOf(request: S3Request): number {
  const raw = one(request.query.partNumber) ?? '';
  if (!/^\d{1,6}$/.test(raw)) throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive');
  return Number(raw);
}

/** A non-negative integer query parameter (max-parts, part-number-marker, max-uploads), or null. */
function countOf(request: S3Request, name: string): number | null {
  const raw = one(request.query[name]);
  if (raw === undefined || raw === '') return null;
  if (!/^\d{1,9}$/.test(raw)) throw new S3Error('InvalidArgument', 400, `${name} must be a non-negative integer`);
  return Number(raw);
}

const CHECKSUM_ELEMENT: Record<ObjectChecksum['algorithm'], string> = {
  crc32: 'ChecksumCRC32',
  crc32c: 'ChecksumCRC32C',
  sha1: 'ChecksumSHA1',
  sha256: 'ChecksumSHA256',
};

const checksumElement = (checksum: ObjectChecksum | null) => (checksum ? { [CHECKSUM_ELEMENT[checksum.algorithm]]: checksum.value } : {});

/** x-amz-copy-source-range: `bytes=first-last` (both required, as S3). */
function copyRangeOf(header: string | undefined): { first: number; last: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  if (!m)
    throw new S3Error(
      'InvalidArgument',
      400,
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
    );
  return { first: Number(m[1]), last: Number(m[2]) };
}

/** The <Part> list of a CompleteMultipartUpload body (MalformedXML unless every part has a number and an ETag). */
function completedParts(doc: Record<string, unknown>): CompletedPart[] {
  const malformed = () =>
    new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  const root = doc.CompleteMultipartUpload;
  if (root === undefined) throw malformed();
  const raw = typeof root === 'object' && root !== null ? (root as Record<string, unknown>).Part : undefined;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((item) => {
    if (typeof item !== 'object' || item === null) throw malformed();
    const part = item as Record<string, unknown>;
    const number = part.PartNumber;
    if (typeof number !== 'string' || !/^\d{1,6}$/.test(number.trim()) || typeof part.ETag !== 'string') throw malformed();
    let checksum: ObjectChecksum | null = null;
    for (const [algorithm, element] of Object.entries(CHECKSUM_ELEMENT)) {
      const value = part[element];
      if (typeof value === 'string') checksum = { algorithm: algorithm as ObjectChecksum['algorithm'], value: value.trim() };
    }
    return { partNumber: Number(number.trim()), etag: part.ETag.trim(), checksum };
  });
}

const ownerOf = () => ({ Initiator: OWNER, Owner: OWNER });

/** `encoding-type=url`: keys and prefixes percent-encoded, as S3 does for clients that ask. */
function encoderOf(request: S3Request): (value: string) => string {
  const type = one(request.query['encoding-type']);
  if (type === undefined) return (v) => v;
  if (type !== 'url') throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request');
  return (v) => encodeURIComponent(v).replace(/%2F/g, '/');
}

// CompleteMultipartUpload may take long (concatenating gigabytes): as S3, after a while the 200 and
// the XML declaration go out, then a space every few seconds, so that clients' read timeouts don't
// fire; the result (or an <Error> document, which S3 clients check a 200 of this call for) follows.
const COMPLETE_KEEPALIVE_AFTER_MS = 2_000;
const COMPLETE_KEEPALIVE_EVERY_MS = 5_000;
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

async function answerCompleteWhenDone<T>(
  res: http.ServerResponse,
  work: Promise<T>,
  result: (value: T) => { root: string; body: Record<string, unknown> },
  errorDocument: (err: unknown) => string,
): Promise<void> {
  let streaming = false;
  let timer: NodeJS.Timeout | null = setTimeout(function keepAlive() {
    if (!streaming) {
      streaming = true;
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/xml');
      res.write(XML_DECLARATION);
    } else {
      res.write(' ');
    }
    timer = setTimeout(keepAlive, COMPLETE_KEEPALIVE_EVERY_MS);
  }, COMPLETE_KEEPALIVE_AFTER_MS);
  try {
    const value = await work.finally(() => {
      if (timer) clearTimeout(timer);
    });
    const { root, body } = result(value);
    if (!streaming) {
      sendXml(res, 200, root, body);
      return;
    }
    res.end(xmlDocument(root, body).slice(XML_DECLARATION.length));
  } catch (err) {
    if (!streaming) throw err;
    res.end(errorDocument(err).slice(XML_DECLARATION.length));
  }
}

/** The <Error> document of a CompleteMultipartUpload that failed after its 200 went out. */
function errorDocument(err: unknown, request: S3Request, log: Logger): string {
  let error: S3Error;
  if (err instanceof S3Error) error = err;
  else if (err instanceof AppError) error = s3ErrorOf(err);
  else {
    log.error({ err, requestId: request.requestId }, 'S3 CompleteMultipartUpload failed');
    error = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
  }
  return xmlDocument(
    'Error',
    { Code: error.code, Message: error.message, Resource: `/${request.bucket}/${request.key}`, RequestId: request.requestId },
    false,
  );
}

/** The multipart entries of the endpoint's operation table. */
export function multipartOperations(multipart: MultipartService, log: Logger) {
  const listUploadsOf = (upload: MultipartUploadRow) => ({
    Key: upload.key,
    UploadId: upload.id,
    ...ownerOf(),
    StorageClass: 'STANDARD',
    Initiated: upload.initiatedAt.toISOString(),
  });

  return {
    CreateMultipartUpload: operation('buckets:PutObject', async ({ req, res, bucket, key }) => {
      const algorithm = headerValue(req, 'x-amz-checksum-algorithm');
      const upload = await multipart.create({
        bucket,
        key,
        contentType: headerValue(req, 'content-type') ?? null,
        metadata: metadataFromHeaders(req.headers),
        checksumAlgorithm: algorithm ?? null,
      });
      if (upload.checksumAlgorithm) res.setHeader('x-amz-checksum-algorithm', upload.checksumAlgorithm.toUpperCase());
      sendXml(res, 200, 'InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: upload.id });
    }),

    UploadPart: operation('buckets:PutObject', async (request) => {
      const { req, res, bucket, key } = request;
      const partNumber = partNumberOf(request);
      const decoded = decodeBody(req, request.auth);
      const part = await multipart.uploadPart({ bucket, key, uploadId: uploadIdOf(request), partNumber }, decoded.bytes, decoded.check);
      res.setHeader('ETag', part.etag);
      if (part.checksum) res.setHeader(`x-amz-checksum-${part.checksum.algorithm}`, part.checksum.value);
      res.statusCode = 200;
      res.end();
    }),

    UploadPartCopy: operation('buckets:PutObject', async (request) => {
      const { req, res, bucket, key } = request;
      const partNumber = partNumberOf(request);
      const source = parseCopySource(req.headers['x-amz-copy-source']);
      // the source is read: the caller's key must allow that too
      requireAction(request, 'buckets:GetObject');
      const range = copyRangeOf(headerValue(req, 'x-amz-copy-source-range'));
      const { part } = await multipart.copyPart(
        { bucket, key, uploadId: uploadIdOf(request), partNumber },
        { ...source, range, check: copySourceConditions(req.headers) },
      );
      sendXml(res, 200, 'CopyPartResult', { ETag: part.etag, LastModified: part.lastModified.toISOString() });
    }),

    CompleteMultipartUpload: operation('buckets:PutObject', async (request) => {
      const { req, res, bucket, key } = request;
      const parts = completedParts(parseXml(await readSmallBody(decodeBody(req, request.auth).body)));
      await answerCompleteWhenDone(
        res,
        multipart.complete({ bucket, key, uploadId: uploadIdOf(request), parts }).catch((err) => Promise.reject(s3Error(err))),
        (object) => ({
          root: 'CompleteMultipartUploadResult',
          body: { Location: `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`, Bucket: bucket, Key: key, ETag: object.etag },
        }),
        (err) => errorDocument(err, request, log),
      );
    }),

    AbortMultipartUpload: operation('buckets:DeleteObject', async (request) => {
      await multipart.abort({ bucket: request.bucket, key: request.key, uploadId: uploadIdOf(request) });
      request.res.statusCode = 204;
      request.res.end();
    }),

    ListParts: operation('buckets:ListObjects', async (request) => {
      const { res, bucket, key } = request;
      const maxParts = countOf(request, 'max-parts');
      const marker = countOf(request, 'part-number-marker');
      const listing = await multipart.listParts({ bucket, key, uploadId: uploadIdOf(request), maxParts, partNumberMarker: marker });
      sendXml(res, 200, 'ListPartsResult', {
        Bucket: bucket,
        Key: key,
        UploadId: listing.upload.id,
        ...ownerOf(),
        StorageClass: 'STANDARD',
        PartNumberMarker: marker ?? 0,
        ...(listing.nextPartNumberMarker !== null ? { NextPartNumberMarker: listing.nextPartNumberMarker } : {}),
        MaxParts: listing.maxParts,
        IsTruncated: listing.isTruncated,
        ...(listing.upload.checksumAlgorithm ? { ChecksumAlgorithm: listing.upload.checksumAlgorithm.toUpperCase() } : {}),
        Part: listing.parts.map((p) => ({
          PartNumber: p.partNumber,
          LastModified: p.lastModified.toISOString(),
          ETag: p.etag,
          Size: p.size,
          ...checksumElement(p.checksum),
        })),
      });
    }),

    ListMultipartUploads: operation('buckets:ListObjects', async (request) => {
      const { res, bucket } = request;
      const encode = encoderOf(request);
      const prefix = one(request.query.prefix) ?? '';
      const delimiter = one(request.query.delimiter) ?? '';
      const keyMarker = one(request.query['key-marker']) ?? '';
      const uploadIdMarker = one(request.query['upload-id-marker']) ?? '';
      const maxUploads = countOf(request, 'max-uploads');
      const listing = await multipart.listUploads(bucket, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads });
      sendXml(res, 200, 'ListMultipartUploadsResult', {
        Bucket: bucket,
        KeyMarker: encode(keyMarker),
        UploadIdMarker: uploadIdMarker,
        ...(listing.nextKeyMarker !== null ? { NextKeyMarker: encode(listing.nextKeyMarker) } : {}),
        ...(listing.nextUploadIdMarker !== null ? { NextUploadIdMarker: listing.nextUploadIdMarker } : {}),
        ...(prefix ? { Prefix: encode(prefix) } : {}),
        ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
        MaxUploads: listing.maxUploads,
        ...(one(request.query['encoding-type']) ? { EncodingType: 'url' } : {}),
        IsTruncated: listing.isTruncated,
        Upload: listing.uploads.map((u) => ({ ...listUploadsOf(u), Key: encode(u.key) })),
        CommonPrefixes: listing.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
      });
    }),
  } satisfies Partial<OperationTable>;
}
