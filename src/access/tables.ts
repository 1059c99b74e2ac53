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
    createdAt: ts('created_at').notNull().defaultNow(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.hash)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
