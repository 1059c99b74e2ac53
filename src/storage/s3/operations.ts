// The S3 endpoint's operation table: what each operation file (buckets.ts, objects.ts, …) fills in
// and handler.ts dispatches to.
import type http from 'node:http';
import { authorize, type Principal } from '../../platform/authorization.js';
import type { Authenticated } from './signature.js';

export type OperationName =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CopyObject'
  | 'DeleteObjects'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads';

/** One S3 request, authenticated, addressed (path-style or virtual-hosted), its query parsed. */
export interface S3Request {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  /** '' for the service (ListBuckets) */
  bucket: string;
  /** '' for a bucket operation */
  key: string;
  query: Record<string, string | string[]>;
  auth: Authenticated;
  principal: Principal;
}

export interface S3Operation {
  /** the GraphQL action the caller's key must allow (checked before `run`; null: none); further checks in `run` */
  action: string | null;
  run(request: S3Request): Promise<void>;
}

export type OperationTable = Record<OperationName, S3Operation>;

/** Fails with AccessDenied unless the caller's key allows `action` (e.g. CopyObject's source read). */
export function requireAction(request: S3Request, action: string): void {
  authorize(request.principal, action);
}

/** An answer without a body (its headers set before). */
export function sendEmpty(res: http.ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}
