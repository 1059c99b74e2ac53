// The digests an upload's bytes may need, by name: MD5 (the ETag, Content-MD5), SHA-256 (SigV4's
// x-amz-content-sha256) and the x-amz-checksum-* algorithms. Plain JavaScript: the digest pool's
// threads (digest-worker.js) load it without a TypeScript loader.
import crypto from 'node:crypto';
import { crc32, crc32c } from '@node-rs/crc32';

/** @typedef {'md5' | 'sha1' | 'sha256' | 'crc32' | 'crc32c'} DigestAlgorithm */
/** @typedef {{ update(b: Buffer): void, digest(): Buffer }} Digest */

// native CRCs (napi-rs): a JavaScript table CRC runs at tens of MB/s, far below the disk and the network
/** @param {(input: Buffer, initial?: number) => number} crc @returns {Digest} */
function crcDigest(crc) {
  let value = 0;
  return {
    update: (b) => {
      value = crc(b, value);
    },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out;
    },
  };
}

/** @type {Record<DigestAlgorithm, () => Digest>} */
const START = {
  md5: () => crypto.createHash('md5'),
  sha1: () => crypto.createHash('sha1'),
  sha256: () => crypto.createHash('sha256'),
  crc32: () => crcDigest(crc32),
  crc32c: () => crcDigest(crc32c),
};

/**
 * Every digest in `algorithms` (each once) of the same bytes, fed in one pass.
 * @param {readonly DigestAlgorithm[]} algorithms
 * @returns {{ update(b: Buffer): void, digest(): Partial<Record<DigestAlgorithm, Buffer>> }}
 */
export function startDigests(algorithms) {
  const digests = [...new Set(algorithms)].map((a) => /** @type {const} */ ([a, START[a]()]));
  return {
    update: (b) => {
      for (const [, d] of digests) d.update(b);
    },
    digest: () => Object.fromEntries(digests.map(([a, d]) => [a, d.digest()])),
  };
}
