import path from 'node:path';
import { badInput } from '../platform/errors.js';

// Content types by file extension, for objects stored without one (uploads without a header, step
// outputs). Unknown extensions are application/octet-stream, as S3's binary/octet-stream.
const BY_EXTENSION: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
  '.parquet': 'application/vnd.apache.parquet',
  '.avro': 'application/avro',
  '.orc': 'application/octet-stream',
  '.html': 'text/html; charset=utf-8',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.py': 'text/x-python; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.sh': 'text/x-shellscript; charset=utf-8',
  '.sql': 'application/sql',
  '.jar': 'application/java-archive',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function contentTypeOf(key: string): string {
  return BY_EXTENSION[path.posix.extname(key).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

// type/subtype with optional parameters, as in an HTTP header (RFC 9110 token characters)
const MEDIA_TYPE =
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+=("[^"\\\u0000-\u001f]*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+))*$/;

export function requireContentType(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed.length > 256 || !MEDIA_TYPE.test(trimmed))
    throw badInput(field, 'must be a media type like "text/csv" or "application/json; charset=utf-8" (at most 256 characters)');
  return trimmed;
}
