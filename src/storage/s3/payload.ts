// Request bodies as S3 sends them: plain (its SHA-256 in x-amz-content-sha256, or UNSIGNED-PAYLOAD)
// or aws-chunked (STREAMING-…: every chunk signed, chained from the request's signature, and/or
// trailing checksum headers), with Content-MD5 and x-amz-checksum-* (header or trailer) verified.
// The decoded bytes come out as an async iterable whose iteration throws the S3Error at the end
// when a check fails: storage consumes a whole body before it commits, so a bad body leaves nothing.
import crypto from 'node:crypto';
import type http from 'node:http';
import { type BodyCheck, type DigestAlgorithm, type Digests, startDigests } from '../digests.js';
import type { ObjectChecksum } from '../tables.js';
import { S3Error } from './errors.js';
import { type Authenticated, headerValue, sameSignature, sha256Hex, UNSIGNED_PAYLOAD } from './signature.js';

const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const EMPTY_SHA256 = sha256Hex('');
/** a chunk header or trailer line longer than this is no aws-chunked framing */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_LINES = 16;

/** The x-amz-checksum-* algorithms S3 clients send, by their header's suffix. */
type ChecksumAlgorithm = ObjectChecksum['algorithm'];
const ALGORITHMS: Record<ChecksumAlgorithm, { label: string; bytes: number }> = {
  crc32: { label: 'CRC32', bytes: 4 },
  crc32c: { label: 'CRC32C', bytes: 4 },
  sha1: { label: 'SHA1', bytes: 20 },
  sha256: { label: 'SHA256', bytes: 32 },
};

export interface DecodedBody {
  /** the object's bytes, checked: iterating throws the S3Error of a failed check once they have all arrived */
  body: AsyncIterable<Buffer>;
  /** once `body` was consumed: the verified x-amz-checksum-* (null when none was sent) */
  checksum(): ObjectChecksum | null;
  /**
   * The same bytes (consume one of `body` and `bytes`, never both) with only their framing and
   * length checked, for a consumer that computes `check.digests` in its own pass over them (storage
   * writes) and then runs `check.verify`: every digest once, off the event loop.
   */
  bytes: AsyncIterable<Buffer>;
  check: BodyCheck;
}

const badDigest = (what: string) => new S3Error('BadDigest', 400, `The ${what} you specified did not match the calculated checksum.`);
const malformedChunks = (detail: string) => new S3Error('InvalidRequest', 400, `The aws-chunked body is malformed: ${detail}`);

function checksumAlgorithm(name: string): ChecksumAlgorithm {
  const suffix = name.toLowerCase().replace(/^x-amz-checksum-/, '');
  if (suffix in ALGORITHMS) return suffix as ChecksumAlgorithm;
  throw new S3Error('InvalidRequest', 400, `Checksum algorithm ${name} is not supported; use CRC32, CRC32C, SHA1 or SHA256`);
}

function requireChecksumValue(algorithm: ChecksumAlgorithm, value: string): string {
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length !== ALGORITHMS[algorithm].bytes || decoded.toString('base64') !== value) {
    throw new S3Error('InvalidRequest', 400, `Value for x-amz-checksum-${algorithm} header is invalid.`);
  }
  return value;
}

/** Buffered reads over a stream of chunks: lines (aws-chunked headers) and counted runs of bytes. */
class ByteReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly source: AsyncIterator<Buffer>;
  private ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.source = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.pending = this.pending.length ? Buffer.concat([this.pending, next.value]) : next.value;
    return true;
  }

  /** the next line without its CRLF; `endsLine`: the body's end ends a line too (trailers' last CRLF is optional) */
  async line(endsLine = false): Promise<string> {
    for (;;) {
      const at = this.pending.indexOf('\r\n');
      if (at >= 0 && at <= MAX_LINE_BYTES) {
        const line = this.pending.subarray(0, at).toString('latin1');
        this.pending = this.pending.subarray(at + 2);
        return line;
      }
      if (this.pending.length > MAX_LINE_BYTES) throw malformedChunks('a chunk header is too long');
      if (!(await this.more())) {
        if (!endsLine) throw malformedChunks('the body ended inside a chunk header');
        const line = this.pending.toString('latin1');
        this.pending = Buffer.alloc(0);
        return line;
      }
    }
  }

  /** exactly `n` bytes, as they arrive */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.more()))
        throw new S3Error('IncompleteBody', 400, 'The request body ended before the chunk it announced');
      const part = this.pending.subarray(0, left);
      this.pending = this.pending.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }

  async atEnd(): Promise<boolean> {
    while (this.pending.length === 0) if (!(await this.more())) return true;
    return false;
  }
}

async function* plainChunks(req: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield* req;
}

/**
 * aws-chunked: `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` … a 0-size chunk, then trailing
 * headers (`name:value\r\n`, with `x-amz-trailer-signature` when signed) and an empty line.
 */
async function* awsChunks(
  source: AsyncIterable<Buffer>,
  signed: boolean,
  auth: Authenticated,
  trailers: Map<string, string> | null,
): AsyncGenerator<Buffer> {
  const reader = new ByteReader(source);
  let previous = auth.chunkSigner.seedSignature;
  for (;;) {
    const header = await reader.line();
    const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header);
    if (!m) throw malformedChunks('a chunk header must be "<hex size>;chunk-signature=<signature>" or "<hex size>"');
    if (signed !== (m[2] !== undefined))
      throw malformedChunks(signed ? 'a chunk has no chunk-signature' : 'an unsigned body has a chunk signature');
    const size = Number.parseInt(m[1]!, 16);
    const hash = crypto.createHash('sha256');
    for await (const part of reader.take(size)) {
      if (signed) hash.update(part);
      yield part;
    }
    if (signed) {
      const expected = await auth.chunkSigner.sign('AWS4-HMAC-SHA256-PAYLOAD', previous, EMPTY_SHA256, hash.digest('hex'));
      if (!sameSignature(expected, m[2]!)) {
        throw new S3Error('SignatureDoesNotMatch', 403, 'The chunk signature we calculated does not match the signature you provided.');
      }
      previous = m[2]!;
    }
    if (size === 0) break;
    if ((await reader.line()) !== '') throw malformedChunks('a chunk must end with CRLF');
  }
  if (trailers) {
    const lines: string[] = [];
    let trailerSignature: string | undefined;
    let first = await reader.line(true);
    // some clients put an empty line between the last chunk and the trailers
    if (first === '' && !(await reader.atEnd())) first = await reader.line(true);
    for (let line = first; line !== ''; line = await reader.line(true)) {
      if (lines.length >= MAX_TRAILER_LINES) throw malformedChunks('too many trailing headers');
      const colon = line.indexOf(':');
      if (colon <= 0) throw malformedChunks('a trailing header must be "name:value"');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSignature = value;
      else {
        lines.push(`${name}:${value}\n`);
        trailers.set(name, value);
      }
    }
    if (signed) {
      if (!trailerSignature) throw malformedChunks('the signed trailer has no x-amz-trailer-signature');
      const expected = await auth.chunkSigner.sign('AWS4-HMAC-SHA256-TRAILER', previous, sha256Hex(lines.join('')));
      if (!sameSignature(expected, trailerSignature)) {
        throw new S3Error('SignatureDoesNotMatch', 403, 'The trailer signature we calculated does not match the signature you provided.');
      }
    }
  } else if (!(await reader.atEnd()) && (await reader.line()) !== '') {
    throw malformedChunks('bytes after the final chunk');
  }
  if (!(await reader.atEnd())) throw malformedChunks('bytes after the trailing headers');
}

/**
 * The body of a request that writes bytes (PutObject, UploadPart): framing decoded, every check the
 * client asked for run. Checks that can run before the body (a malformed header) throw here.
 */
export function decodeBody(req: http.IncomingMessage, auth: Authenticated): DecodedBody {
  const mode = auth.contentSha256;
  const streaming = mode === STREAMING_SIGNED || mode === STREAMING_SIGNED_TRAILER || mode === STREAMING_UNSIGNED_TRAILER;
  if (!streaming && mode !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(mode)) {
    throw new S3Error(
      'InvalidArgument',
      400,
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a SHA-256 in hex',
    );
  }
  const hasTrailer = mode === STREAMING_SIGNED_TRAILER || mode === STREAMING_UNSIGNED_TRAILER;

  const contentMd5 = headerValue(req, 'content-md5');
  let md5Expected: string | null = null;
  if (contentMd5 !== undefined) {
    if (Buffer.from(contentMd5, 'base64').length !== 16)
      throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
    md5Expected = contentMd5;
  }

  // the checksum named by a header (its value here) or by x-amz-trailer (its value at the end)
  let checksumAlgorithmName: ChecksumAlgorithm | null = null;
  let checksumInHeader: string | null = null;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-checksum-') || name === 'x-amz-checksum-mode' || name === 'x-amz-checksum-type') continue;
    if (checksumAlgorithmName)
      throw new S3Error('InvalidRequest', 400, 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    checksumAlgorithmName = checksumAlgorithm(name);
    checksumInHeader = requireChecksumValue(checksumAlgorithmName, String(value));
  }
  const trailerName = headerValue(req, 'x-amz-trailer');
  if (trailerName !== undefined) {
    if (!hasTrailer)
      throw new S3Error(
        'InvalidRequest',
        400,
        'x-amz-trailer needs x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      );
    if (checksumAlgorithmName)
      throw new S3Error('InvalidRequest', 400, 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    checksumAlgorithmName = checksumAlgorithm(trailerName.trim());
  }

  let decodedLength: number | null = null;
  if (streaming) {
    const declared = headerValue(req, 'x-amz-decoded-content-length');
    if (declared === undefined || !/^\d{1,16}$/.test(declared)) {
      throw new S3Error('MissingContentLength', 411, 'You must provide the x-amz-decoded-content-length header for aws-chunked uploads.');
    }
    decodedLength = Number(declared);
  }

  const trailers = hasTrailer ? new Map<string, string>() : null;
  const source = req as AsyncIterable<Buffer>;
  const frames = streaming ? awsChunks(source, mode !== STREAMING_UNSIGNED_TRAILER, auth, trailers) : plainChunks(source);
  const sha256Expected = /^[0-9a-f]{64}$/.test(mode) ? mode : null;
  const digests: DigestAlgorithm[] = [];
  if (sha256Expected) digests.push('sha256');
  if (md5Expected) digests.push('md5');
  if (checksumAlgorithmName) digests.push(checksumAlgorithmName);

  async function* bytes(): AsyncGenerator<Buffer> {
    let size = 0;
    for await (const part of frames) {
      size += part.length;
      if (decodedLength !== null && size > decodedLength)
        throw new S3Error('IncompleteBody', 400, 'The body is longer than x-amz-decoded-content-length');
      yield part;
    }
    if (decodedLength !== null && size !== decodedLength) {
      throw new S3Error(
        'IncompleteBody',
        400,
        'You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header',
      );
    }
  }

  const check: BodyCheck = {
    digests,
    verify(computed: Digests): ObjectChecksum | null {
      if (sha256Expected && computed.sha256!.toString('hex') !== sha256Expected) {
        throw new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      if (md5Expected && computed.md5!.toString('base64') !== md5Expected)
        throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
      if (!checksumAlgorithmName) return null;
      let expected = checksumInHeader;
      if (expected === null) {
        const sent = trailers?.get(`x-amz-checksum-${checksumAlgorithmName}`);
        if (sent === undefined)
          throw new S3Error(
            'InvalidRequest',
            400,
            `The trailer x-amz-checksum-${checksumAlgorithmName} announced by x-amz-trailer was not sent`,
          );
        expected = requireChecksumValue(checksumAlgorithmName, sent);
      }
      if (computed[checksumAlgorithmName]!.toString('base64') !== expected) throw badDigest(ALGORITHMS[checksumAlgorithmName].label);
      return { algorithm: checksumAlgorithmName, value: expected };
    },
  };

  let verified: ObjectChecksum | null = null;
  async function* body(): AsyncGenerator<Buffer> {
    const inline = startDigests(digests);
    for await (const part of bytes()) {
      inline.update(part);
      yield part;
    }
    verified = check.verify(inline.digest());
  }

  return { body: body(), checksum: () => verified, bytes: bytes(), check };
}
