// Buckets, objects and the outbox of object changes.
import { bigint, bigserial, customType, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ts } from '../platform/db/columns.js';

// Object keys compare byte-wise (COLLATE "C"): listings come out in S3's UTF-8 binary order and a
// prefix is one range scan of the primary key.
const byteOrderedText = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });

export const buckets = pgTable('buckets', {
  name: text('name').primaryKey(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const objects = pgTable(
  'objects',
  {
    bucket: text('bucket')
      .notNull()
      .references(() => buckets.name),
    key: byteOrderedText('key').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    // S3-style: the MD5 hex of the bytes, in double quotes
    etag: text('etag').notNull(),
    contentType: text('content_type').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.key] })],
);

export type ObjectEventKind = 'ObjectCreated:Put' | 'ObjectRemoved:Delete';

// Outbox of object changes (ObjectCreated:Put, ObjectRemoved:Delete), written in the transaction of
// the change: bucket triggers read it in order.
export const objectEvents = pgTable('object_events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  bucket: text('bucket').notNull(),
  key: text('key').notNull(),
  kind: text('kind').$type<ObjectEventKind>().notNull(),
  size: bigint('size', { mode: 'number' }),
  etag: text('etag'),
  at: ts('at').notNull().defaultNow(),
});

export type BucketRow = typeof buckets.$inferSelect;
export type ObjectRow = typeof objects.$inferSelect;
/** An object change (object_events), in the order of `seq`; BUCKET triggers deliver them. */
export type ObjectEventRow = typeof objectEvents.$inferSelect;
