// Layers (Lambda's): named, numbered versions of a zip that functions list (up to 5, in order) and
// their instances see unpacked, read-only, at /opt. A version never changes once published; its
// zip is stored with function code (content-addressed, FunctionCodeStore).
import { bigint, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ts } from '../../platform/db/columns.js';
import type { FunctionRuntimeName } from '../tables.js';

export const layers = pgTable('layers', {
  name: text('name').primaryKey(),
  // version numbers are never reused, even once every version is deleted (as Lambda's)
  lastVersion: integer('last_version').notNull().default(0),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const layerVersions = pgTable(
  'layer_versions',
  {
    layerName: text('layer_name')
      .notNull()
      .references(() => layers.name),
    version: integer('version').notNull(),
    description: text('description').notNull().default(''),
    compatibleRuntimes: jsonb('compatible_runtimes').$type<FunctionRuntimeName[]>().notNull(),
    // base64 sha256 of the zip (Lambda's CodeSha256); the zip is stored by its hex digest
    codeSha256: text('code_sha256').notNull(),
    codeSize: bigint('code_size', { mode: 'number' }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.layerName, t.version] })],
);

export type LayerVersionRow = typeof layerVersions.$inferSelect;
