// The S3 endpoint on the main port: which requests are S3's (owns), which operation each one is
// (method + path + query), authentication (SigV4), authorization with the same actions as GraphQL,
// and S3's XML errors. The operations themselves live in buckets.ts, objects.ts, … : each file
// contributes entries of the operation table, so adding one is adding an entry.
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Logger } from 'pino';
import type { LookupS3Credentials } from '../../platform/authorization.js';
import { AppError } from '../../platform/errors.js';
import type { MultipartService } from '../multipart-service.js';
import { TRANSFER_IDLE_MS } from '../object-reads.js';
import type { StorageService } from '../service.js';
import { bucketOperations } from './buckets.js';
import { accessDenied, notImplemented, S3Error, s3ErrorOf } from './errors.js';
import { type OperationName, type OperationTable, requireAction } from './operations.js';
import { sendS3Error } from './xml.js';
import { multipartOperations } from './multipart.js';
import { objectOperations } from './objects.js';
import { listingOperations } from './listing.js';
import { copyOperations } from './copy.js';
import { deleteManyOperations } from './delete-many.js';
import { authenticate, carriesAwsAuth, parseQuery } from './signature.js';

/**
 * S3's subresources (query parameters that name an operation). Those not in ANSWERED are 501
 * NotImplemented rather than served as the plain GET/PUT/DELETE they would otherwise look like.
 */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'renameObject',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
]);

const ANSWERED = new Set(['location', 'delete', 'uploads', 'uploadId', 'partNumber']);

function has(query: Record<string, unknown>, name: string): boolean {
  return query[name] !== undefined;
}

/** Which operation a request is; throws NotImplemented for the ones S3 has and this endpoint lacks. */
export function operationOf(
  method: string,
  bucket: string,
  key: string,
  query: Record<string, string | string[]>,
  headers: http.IncomingHttpHeaders,
): OperationName {
  const unsupported = Object.keys(query).find((name) => SUBRESOURCES.has(name) && !ANSWERED.has(name));
  if (unsupported) throw notImplemented(`The ?${unsupported} subresource`);
  // buckets are unversioned: the only version there is is "null"
  if (query.versionId !== undefined && query.versionId !== 'null') throw notImplemented('Object versions (?versionId)');
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (bucket === '') {
    if (method === 'GET' || method === 'HEAD') return 'ListBuckets';
  } else if (key === '') {
    switch (method) {
      case 'GET':
        if (has(query, 'location')) return 'GetBucketLocation';
        if (has(query, 'uploads')) return 'ListMultipartUploads';
        return query['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects';
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        if (Object.keys(query).some((name) => SUBRESOURCES.has(name))) break;
        return 'CreateBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'POST':
        if (has(query, 'delete')) return 'DeleteObjects';
        break;
    }
  } else {
    const upload = has(query, 'uploadId');
    switch (method) {
      case 'GET':
      case 'HEAD':
        if (upload) return method === 'GET' ? 'ListParts' : 'HeadObject';
        return method === 'GET' ? 'GetObject' : 'HeadObject';
      case 'PUT':
        if (upload && has(query, 'partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
        if (upload) break;
        return copy ? 'CopyObject' : 'PutObject';
      case 'DELETE':
        return upload ? 'AbortMultipartUpload' : 'DeleteObject';
      case 'POST':
        if (has(query, 'uploads')) return 'CreateMultipartUpload';
        if (upload) return 'CompleteMultipartUpload';
        break;
    }
  }
  throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
}

export interface S3EndpointOptions {
  /** what GetBucketLocation and HeadBucket answer */
  region: string;
  /** `<bucket>.<domain>` Host headers are virtual-hosted-style requests (S3_VIRTUAL_HOST_DOMAINS) */
  virtualHostDomains: string[];
}

export class S3Endpoint {
  private readonly operations: OperationTable;

  constructor(
    storage: StorageService,
    multipart: MultipartService,
    private readonly lookup: LookupS3Credentials,
    private readonly options: S3EndpointOptions,
    private readonly log: Logger,
  ) {
    this.operations = {
      ...bucketOperations(storage, options.region),
      ...objectOperations(storage),
      ...listingOperations(storage),
      ...copyOperations(storage),
      ...deleteManyOperations(storage),
      ...multipartOperations(multipart, log),
    };
  }

  /** The bucket a Host header names under a virtual-host domain (`mybucket.localhost:8080`), else null. */
  private virtualHostBucket(host: string | undefined): string | null {
    if (!host) return null;
    const name = host.replace(/:\d+$/, '').toLowerCase();
    for (const domain of this.options.virtualHostDomains) {
      if (name.endsWith(`.${domain}`) && name.length > domain.length + 1) return name.slice(0, -domain.length - 1);
    }
    return null;
  }

  /** An S3 request: AWS authentication (header or query), or a Host naming a bucket. */
  owns(req: http.IncomingMessage): boolean {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return carriesAwsAuth(req.headers.authorization, q < 0 ? '' : url.slice(q + 1)) || this.virtualHostBucket(req.headers.host) !== null;
  }

  /** Requests nothing else on the port serves and that carry no API key: S3's anonymous refusal. */
  readonly fallback = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void): void => {
    if (/^Bearer\s/i.test(req.headers.authorization ?? '')) {
      next();
      return;
    }
    const requestId = requestIdOf();
    sendS3Error(
      req,
      res,
      accessDenied('Anonymous requests are not allowed: sign requests with Signature Version 4'),
      requestId,
      (req.url ?? '/').split('?')[0]!,
    );
  };

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void this.serve(req, res);
  };

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = requestIdOf();
    res.setHeader('x-amz-request-id', requestId);
    // the socket's inactivity timer, as /objects: no bytes received (upload) or sent (download)
    req.setTimeout(TRANSFER_IDLE_MS, () => req.destroy(new Error('idle timeout')));
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let resource = rawPath;
    try {
      const query = parseQuery(q < 0 ? '' : url.slice(q + 1));
      const auth = await authenticate(req, rawPath, query, this.lookup);
      let bucket: string;
      let key: string;
      const hostBucket = this.virtualHostBucket(req.headers.host);
      if (hostBucket !== null) {
        bucket = hostBucket;
        key = decodePath(rawPath.slice(1));
      } else {
        const slash = rawPath.indexOf('/', 1);
        bucket = decodePath(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
        key = slash < 0 ? '' : decodePath(rawPath.slice(slash + 1));
      }
      resource = `/${bucket}${key ? `/${key}` : ''}`;
      const name = operationOf(req.method ?? 'GET', bucket, key, query, req.headers);
      const operation = this.operations[name];
      const request = { req, res, requestId, bucket, key, query, auth, principal: auth.principal };
      if (operation.action !== null) requireAction(request, operation.action);
      await operation.run(request);
    } catch (err) {
      this.fail(req, res, err, requestId, resource);
    }
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, requestId: string, resource: string): void {
    // the client went away mid-transfer: nothing to answer
    if ((err as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let error: S3Error;
    if (err instanceof S3Error) error = err;
    else if (err instanceof AppError) error = s3ErrorOf(err);
    else {
      if (req.destroyed) return;
      this.log.error({ err, requestId }, 'S3 request failed');
      error = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
    }
    // a body refused before it was read: don't read gigabytes just to throw them away
    if (!req.complete) res.setHeader('Connection', 'close');
    sendS3Error(req, res, error, requestId, resource);
  }
}

const requestIdOf = () => crypto.randomBytes(8).toString('hex').toUpperCase();
