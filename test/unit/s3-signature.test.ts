// SigV4 verification and aws-chunked decoding against AWS's own published example: the signed
// streaming PUT of 66,560 bytes of "a" (seed and chunk signatures as AWS documents them), so a
// pass means the chaining matches the real service, not merely our own signer.
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/storage/s3/errors.js';
import { decodeBody } from '../../src/storage/s3/payload.js';
import { authenticate, parseQuery } from '../../src/storage/s3/signature.js';

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
