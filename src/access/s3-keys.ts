// S3 access key ids and secrets: what API keys (service.ts) and workloads (workload-credentials.ts) are given.
import crypto from 'node:crypto';

// S3 access key ids look like AWS's (20 characters, "AKIA…"): EMB + 17 of base32's alphabet
const S3_KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const S3_KEY_ID_PREFIX = 'EMB';
// a workload's (workload-credentials.ts): told apart by its prefix, as AWS's "ASIA…" from "AKIA…"
export const WORKLOAD_KEY_ID_PREFIX = 'EMW';
export const S3_ACCESS_KEY_ID = /^EM[BW][A-Z2-7]{17}$/;

export function newS3AccessKeyId(prefix = S3_KEY_ID_PREFIX): string {
  const bytes = crypto.randomBytes(17);
  let out = prefix;
  for (const b of bytes) out += S3_KEY_ID_ALPHABET[b % 32];
  return out;
}

/** An S3 secret access key: 40 characters, as AWS's (30 random bytes in base64, "/" and "+" kept out). */
export const newS3Secret = () => crypto.randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
