// Buckets, objects and the outbox of object changes.
import { bigint, bigserial, customType, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
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
    // what S3 stores with an object besides its type: user metadata (x-amz-meta-*) and the headers
    // GET and HEAD return as they were given at upload
    metadata: jsonb('metadata').$type<ObjectMetadata>().notNull().default({}),
    // the checksum an S3 client sent with the bytes (x-amz-checksum-*), verified on upload and
    // returned with x-amz-checksum-mode: ENABLED; null when none was sent (or a step rewrote the file)
    checksum: jsonb('checksum').$type<ObjectChecksum>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.key] })],
);

/** Headers S3 stores with an object and returns on GET and HEAD (lower-case names). */
export const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;
export type StoredHeader = (typeof STORED_HEADERS)[number];

/** An object's checksum as S3 clients send it: the algorithm and the base64 of its digest. */
export interface ObjectChecksum {
  algorithm: 'crc32' | 'crc32c' | 'sha1' | 'sha256';
  value: string;
}

export interface ObjectMetadata {
  /** x-amz-meta-<name> → value, names lower-cased and without the prefix */
  user?: Record<string, string>;
  headers?: Partial<Record<StoredHeader, string>>;
}

export type ObjectEventKind = 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectRemoved:Delete';

// Outbox of object changes (ObjectCreated:*, ObjectRemoved:Delete), written in the transaction of
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
