// API keys' table.
import { pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { ts } from '../platform/db/columns.js';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    // "hmac-sha256:<hex>" of the whole key with a key outside the database (platform/secrets.ts);
    // rows from before are a bare sha256 (hex), rehashed at their next use. The key itself is never stored.
    hash: text('hash').notNull(),
    // IAM-style action patterns (e.g. "clusters:*"); ['*'] for admin keys
    actions: text('actions').array().notNull(),
    // S3 credentials (optional): the access key id (public, like AWS's "AKIA…") and its secret,
    // AES-256-GCM encrypted with the platform secrets key: SigV4 verification needs the secret
    // itself, so unlike the API key it cannot be stored as a hash
    s3AccessKeyId: text('s3_access_key_id'),
    s3SecretSealed: text('s3_secret_sealed'),
    createdAt: ts('created_at').notNull().defaultNow(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.hash), uniqueIndex('api_keys_s3_access_key_id_idx').on(t.s3AccessKeyId)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
