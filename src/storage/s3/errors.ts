// S3's errors: `<Error><Code/><Message/><Resource/><RequestId/></Error>` with S3's status codes, and
// the translation of storage's AppError codes into them.
import type { AppError } from '../../platform/errors.js';

export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** more elements of the <Error> document (e.g. BucketName, Key) */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

export const noSuchBucket = () => new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
export const accessDenied = (message = 'Access Denied') => new S3Error('AccessDenied', 403, message);
export const notImplemented = (what: string) =>
  new S3Error('NotImplemented', 501, `${what} is not implemented by this S3 endpoint (see docs/storage.md, "S3 endpoint")`);

/**
 * Storage's errors as S3's. Which name a NOT_FOUND or BAD_USER_INPUT is about comes from its
 * field: the S3 surface calls storage with the fields "bucket" and "key".
 */
export function s3ErrorOf(err: AppError): S3Error {
  const field = err.field ?? '';
  switch (err.code) {
    case 'NOT_FOUND':
      return field === 'bucket' ? noSuchBucket() : new S3Error('NoSuchKey', 404, 'The specified key does not exist.');
    case 'CONFLICT':
      // a bucket that exists (all buckets belong to this one account), a bucket not empty, or a
      // key that clashes with another as a path ("a" and "a/b"): S3 has no such rule, so it gets
      // the closest 409 S3 clients handle as a plain failure
      if (field === 'bucket' && /already exists/.test(err.message))
        return new S3Error(
          'BucketAlreadyOwnedByYou',
          409,
          'Your previous request to create the named bucket succeeded and you already own it.',
        );
      if (field === 'bucket' && /not empty/.test(err.message))
        return new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
      return new S3Error('OperationAborted', 409, err.message);
    case 'PAYLOAD_TOO_LARGE':
      return new S3Error('EntityTooLarge', 400, err.message);
    case 'BAD_USER_INPUT':
      if (field === 'bucket') return new S3Error('InvalidBucketName', 400, `The specified bucket is not valid: it ${err.message}`);
      if (field === 'key' && /at most \d+ bytes/.test(err.message)) return new S3Error('KeyTooLongError', 400, 'Your key is too long');
      return new S3Error('InvalidArgument', 400, field ? `${field} ${err.message}` : err.message);
    case 'FORBIDDEN':
    case 'UNAUTHENTICATED':
      return accessDenied(err.message);
    case 'THROTTLED':
      return new S3Error('SlowDown', 503, err.message);
    default:
      return new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
  }
}
