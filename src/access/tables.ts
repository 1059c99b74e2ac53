// API keys' table.
import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
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

/**
 * S3 credentials of a workload (a cluster's nodes today; a function's execution role later), kept
 * apart from API keys: made by the platform for the workload (never by a user), scoped to actions
 * its creator held, void when the workload ends. The secret is sealed like an API key's S3 secret.
 */
export const workloadCredentials = pgTable(
  'workload_credentials',
  {
    accessKeyId: text('access_key_id').primaryKey(),
    secretSealed: text('secret_sealed').notNull(),
    // what the credential speaks for: 'CLUSTER' (a cluster's id); execution roles will add their kind
    ownerKind: text('owner_kind').notNull(),
    ownerId: text('owner_id').notNull(),
    actions: text('actions').array().notNull(),
    // the API key whose rights bound the actions (null for a workload the platform started itself)
    createdByKeyId: text('created_by_key_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    revokedAt: ts('revoked_at'),
    // short-lived credentials (execution roles) stop by themselves; a cluster's last until it ends
    expiresAt: ts('expires_at'),
  },
  (t) => [index('workload_credentials_owner_idx').on(t.ownerKind, t.ownerId)],
);

export type WorkloadCredentialRow = typeof workloadCredentials.$inferSelect;
