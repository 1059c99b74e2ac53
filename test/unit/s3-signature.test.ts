// SigV4 verification and aws-chunked decoding against AWS's own published example: the signed
// streaming PUT of 66,560 bytes of "a" (seed and chunk signatures as AWS documents them), so a
// pass means the chaining matches the real service, not merely our own signer.
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/storage/s3/errors.js';
import { decodeBody } from '../../src/storage/s3/payload.js';
import { type Authenticated, authenticate, chunkSignerFor, parseQuery } from '../../src/storage/s3/signature.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const WHEN = new Date('2013-05-24T00:00:00Z');
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const CHUNKS: Array<[number, string]> = [
  [65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'],
  [1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'],
  [0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'],
];
const principal = { keyId: 'ak-test', name: 'example', actions: ['*'] };
const lookup = async (id: string) => (id === KEY_ID ? { secretAccessKey: SECRET, principal } : null);

function exampleBody(corrupt = false): Buffer {
  const parts: Buffer[] = [];
  for (const [size, signature] of CHUNKS) {
    const data = Buffer.alloc(size, 'a');
    if (corrupt && size === 1024) data[10] = 0x62;
    parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`), data, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** AWS's example request, its body cut in `pieceBytes` pieces (the decoder must not care where). */
function exampleRequest(body: Buffer, pieceBytes: number, seed = SEED): http.IncomingMessage {
  const pieces: Buffer[] = [];
  for (let at = 0; at < body.length; at += pieceBytes) pieces.push(body.subarray(at, at + pieceBytes));
  return Object.assign(Readable.from(pieces), {
    method: 'PUT',
    url: '/examplebucket/chunkObject.txt',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      authorization: `AWS4-HMAC-SHA256 Credential=${KEY_ID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${seed}`,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
    },
  }) as unknown as http.IncomingMessage;
}

async function consume(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

async function failure(promise: Promise<unknown>): Promise<S3Error> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(S3Error);
  return err as S3Error;
}

describe("AWS's signed streaming PUT example", () => {
  it('authenticates (seed signature) and decodes the 66,560 bytes, whatever the pieces the body arrives in', async () => {
    expect(exampleBody().length).toBe(66824);
    for (const pieceBytes of [1, 7, 4096, 70_000]) {
      const req = exampleRequest(exampleBody(), pieceBytes);
      const auth = await authenticate(req, '/examplebucket/chunkObject.txt', parseQuery(''), lookup, WHEN);
      expect(auth.principal).toBe(principal);
      const bytes = await consume(decodeBody(req, auth).body);
      expect(bytes.equals(Buffer.alloc(66560, 'a'))).toBe(true);
    }
  });

  it('a byte changed in the second chunk fails its chunk signature: SignatureDoesNotMatch', async () => {
    const req = exampleRequest(exampleBody(true), 4096);
    const auth = await authenticate(req, '/examplebucket/chunkObject.txt', parseQuery(''), lookup, WHEN);
    const err = await failure(consume(decodeBody(req, auth).body));
    expect([err.code, err.status]).toEqual(['SignatureDoesNotMatch', 403]);
  });

  it('a wrong seed signature is SignatureDoesNotMatch; an unknown key id InvalidAccessKeyId; a day later RequestTimeTooSkewed', async () => {
    const wrongSeed = exampleRequest(exampleBody(), 4096, SEED.replace(/^4/, '5'));
    expect((await failure(authenticate(wrongSeed, '/examplebucket/chunkObject.txt', {}, lookup, WHEN))).code).toBe('SignatureDoesNotMatch');
    const req = exampleRequest(exampleBody(), 4096);
    expect((await failure(authenticate(req, '/examplebucket/chunkObject.txt', {}, async () => null, WHEN))).code).toBe(
      'InvalidAccessKeyId',
    );
    const later = new Date(WHEN.getTime() + 86_400_000);
    expect((await failure(authenticate(req, '/examplebucket/chunkObject.txt', {}, lookup, later))).code).toBe('RequestTimeTooSkewed');
    // the path is part of what was signed
    expect((await failure(authenticate(req, '/examplebucket/otherObject.txt', {}, lookup, WHEN))).code).toBe('SignatureDoesNotMatch');
  });

  it('a body shorter than x-amz-decoded-content-length is IncompleteBody, framing garbage InvalidRequest', async () => {
    const whole = exampleBody();
    const truncated = exampleRequest(whole.subarray(0, 60_000), 4096);
    const auth = await authenticate(truncated, '/examplebucket/chunkObject.txt', {}, lookup, WHEN);
    expect((await failure(consume(decodeBody(truncated, auth).body))).code).toBe('IncompleteBody');
    const garbage = exampleRequest(Buffer.concat([Buffer.from('zz;chunk-signature=00\r\n'), whole]), 4096);
    const auth2 = await authenticate(garbage, '/examplebucket/chunkObject.txt', {}, lookup, WHEN);
    expect((await failure(consume(decodeBody(garbage, auth2).body))).code).toBe('InvalidRequest');
  });
});

// AWS's example of a signed streaming PUT with a signed trailer (sigv4-streaming-trailers): the same
// 66,560 bytes, a CRC32C trailer and its trailer signature
const TRAILER_SEED = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';
const TRAILER_CHUNKS: Array<[number, string]> = [
  [65536, 'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2'],
  [1024, '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7'],
  [0, '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992'],
];
const TRAILER_SIGNATURE = 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435';

function trailerRequest(checksum: string, trailerSignature: string): { req: http.IncomingMessage; auth: Authenticated } {
  const parts: Buffer[] = [];
  for (const [size, signature] of TRAILER_CHUNKS) {
    parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`), Buffer.alloc(size, 'a'));
    if (size > 0) parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`x-amz-checksum-crc32c:${checksum}\r\nx-amz-trailer-signature:${trailerSignature}\r\n\r\n`));
  const req = Object.assign(Readable.from([Buffer.concat(parts)]), {
    method: 'PUT',
    headers: { 'x-amz-decoded-content-length': '66560', 'x-amz-trailer': 'x-amz-checksum-crc32c', 'content-encoding': 'aws-chunked' },
  }) as unknown as http.IncomingMessage;
  const auth: Authenticated = {
    principal,
    contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
    chunkSigner: chunkSignerFor({ accessKeyId: KEY_ID, secretAccessKey: SECRET }, 'us-east-1', '20130524T000000Z', TRAILER_SEED),
  };
  return { req, auth };
}

describe("AWS's signed streaming PUT with a trailer", () => {
  it('verifies every chunk, the trailer signature and the CRC32C it carries', async () => {
    const { req, auth } = trailerRequest('sOO8/Q==', TRAILER_SIGNATURE);
    const decoded = decodeBody(req, auth);
    expect((await consume(decoded.body)).equals(Buffer.alloc(66560, 'a'))).toBe(true);
    expect(decoded.checksum()).toEqual({ algorithm: 'crc32c', value: 'sOO8/Q==' });
  });

  it('a changed trailer fails its signature; a correctly signed wrong checksum would be BadDigest', async () => {
    const tampered = trailerRequest('AAAAAA==', TRAILER_SIGNATURE);
    const err = await failure(consume(decodeBody(tampered.req, tampered.auth).body));
    expect([err.code, err.status]).toEqual(['SignatureDoesNotMatch', 403]);
  });
});
