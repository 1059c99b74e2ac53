import { statSync } from 'node:fs';
import { notFound } from './errors.js';
import { objectFilePath, parseS3Uri, type S3Location } from './s3-uri.js';

/**
 * An s3:// URI that must name an existing object, and the file holding its bytes (the documented
 * s3:// → <bucketsDir>/<bucket>/<key> mapping). NOT_FOUND on `field` when there is no such object.
 */
export function requireObjectFile(bucketsDir: string, uri: string, field: string): S3Location & { file: string } {
  const location = parseS3Uri(uri, field);
  const file = objectFilePath(bucketsDir, location.bucket, location.key);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw notFound('object', uri, field);
  return { ...location, file };
}
