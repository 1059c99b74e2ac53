// Reading an object over HTTP, shared by the /objects route and the S3 endpoint: the single Range
// they serve, the conditional headers (RFC 9110 §13.2.2, as S3), and streaming the chosen bytes.
import type http from 'node:http';
import type { OpenedObject } from './service.js';
import type { ObjectRow } from './tables.js';

const READ_CHUNK_BYTES = 1024 * 1024;
/** Reads of one download handed to its socket and not yet written: a read overlaps the socket's writing. */
const READS_IN_FLIGHT = 2;
/**
 * Read buffers are taken back once the socket has written them, for the next read of any download: a
 * new buffer per read costs page faults on fresh memory, and garbage outside the heap that makes the
 * event loop's thread run a full garbage collection every 64 MB or so sent.
 */
const freeReadBuffers: Buffer[] = [];
const MAX_FREE_READ_BUFFERS = 8;
/**
 * An upload that sends nothing, or a download whose reader takes nothing, for this long is dropped
 * (the upload leaves nothing behind; the download's file is closed): object transfers have no
 * overall deadline (server.requestTimeout is off), so this is what ends a stalled one.
 */
export const TRANSFER_IDLE_MS = 60_000;

export type ByteRange = { start: number; end: number };

/** A single `bytes=` range within `size`; null for the whole object; 'unsatisfiable' → 416. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multiple or malformed ranges: the whole object, as RFC 9110 allows
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

// S3 takes an ETag with or without its quotes: the AWS SDK for Java v1 (Spark's s3a) sends them bare
const unquoted = (etag: string) => etag.replace(/^"(.*)"$/, '$1');

const etagMatches = (header: string, etag: string) =>
  header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || unquoted(v) === unquoted(etag);
  });

/** An HTTP date, or null when the header is absent or no date (then ignored, as RFC 9110 says). */
function httpDate(header: string | undefined): number | null {
  if (!header) return null;
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * What the conditional headers of a GET/HEAD make of this object: 'proceed', 'not-modified' (304)
 * or 'precondition-failed' (412). If-Match before If-Unmodified-Since (ignored when If-Match is
 * there), If-None-Match before If-Modified-Since (likewise). Last-Modified has whole seconds.
 */
export function evaluatePreconditions(
  headers: http.IncomingHttpHeaders,
  row: Pick<ObjectRow, 'etag' | 'updatedAt'>,
): 'proceed' | 'not-modified' | 'precondition-failed' {
  const modifiedSeconds = Math.floor(row.updatedAt.getTime() / 1000);
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, row.etag)) return 'precondition-failed';
  } else {
    const since = httpDate(headers['if-unmodified-since']);
    if (since !== null && modifiedSeconds > Math.floor(since / 1000)) return 'precondition-failed';
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, row.etag)) return 'not-modified';
  } else {
    const since = httpDate(headers['if-modified-since']);
    if (since !== null && modifiedSeconds <= Math.floor(since / 1000)) return 'not-modified';
  }
  return 'proceed';
}

/**
 * Sends the object's bytes (or the range of them) with Content-Length and, for a range, 206 and
 * Content-Range; the caller set its other headers. Closes the file whatever happens.
 */
export async function streamObject(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opened: OpenedObject,
  range: ByteRange | null,
): Promise<void> {
  const { file, size } = opened;
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.statusCode = range ? 206 : 200;
  res.setHeader('Content-Length', String(end - start + 1));
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  if (req.method === 'HEAD' || size === 0) {
    await file.close();
    res.end();
    return;
  }
  try {
    await sendBytes(file, res, start, end);
  } finally {
    await file.close();
  }
}

/**
 * Writes bytes `start`..`end` of `file` to `res`, then ends it; stops early, quietly, when the
 * client goes away. Each read goes into a reused buffer handed straight to the socket.
 */
async function sendBytes(file: OpenedObject['file'], res: http.ServerResponse, start: number, end: number): Promise<void> {
  let position = start;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let closed = false;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  res.once('close', onClose);
  try {
    while (position <= end && !closed) {
      if (inFlight >= READS_IN_FLIGHT) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      const buffer = freeReadBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position + 1), position);
      if (closed) break;
      if (bytesRead === 0) throw new Error(`the object's file ended at ${position} bytes, before the ${end + 1} it should hold`);
      position += bytesRead;
      inFlight++;
      // a socket that is destroyed may never call back: that buffer is left to the garbage collector
      res.write(buffer.subarray(0, bytesRead), () => {
        inFlight--;
        if (freeReadBuffers.length < MAX_FREE_READ_BUFFERS) freeReadBuffers.push(buffer);
        wake?.();
      });
    }
    if (!closed) res.end();
  } finally {
    res.off('close', onClose);
  }
}
