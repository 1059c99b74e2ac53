// Buckets, objects and the outbox of object changes.
import { bigint, bigserial, customType, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ts, tsMicros } from '../platform/db/columns.js';

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

// S3 multipart uploads in progress: created with the object's content type and metadata, their parts
// are files under <dataDir>/multipart/<id>/ (outside the buckets, so neither listings nor the path
// mapping see them) until CompleteMultipartUpload concatenates them into the object. A deleted
// bucket takes its uploads with it.
export const multipartUploads = pgTable(
  'multipart_uploads',
  {
    // random and unguessable: it is all a client needs (besides the right to write the key) to add parts
    id: text('id').primaryKey(),
    bucket: text('bucket')
      .notNull()
      .references(() => buckets.name, { onDelete: 'cascade' }),
    key: byteOrderedText('key').notNull(),
    contentType: text('content_type').notNull(),
    /** the x-amz-meta-* given at create (names lowercase, without the prefix) */
    metadata: jsonb('metadata').$type<ObjectMetadata>().notNull().default({}),
    /** the checksum algorithm given at create (x-amz-checksum-algorithm), or null */
    checksumAlgorithm: text('checksum_algorithm').$type<ObjectChecksum['algorithm']>(),
    // ListMultipartUploads orders a key's uploads by initiation, to the microsecond (uploadsInRange)
    initiatedAt: tsMicros('initiated_at').notNull().defaultNow(),
  },
  // ListMultipartUploads: by key, then initiation
  (t) => [index('multipart_uploads_listing').on(t.bucket, t.key, t.initiatedAt, t.id), index('multipart_uploads_age').on(t.initiatedAt)],
);

export const multipartParts = pgTable(
  'multipart_parts',
  {
    uploadId: text('upload_id')
      .notNull()
      .references(() => multipartUploads.id, { onDelete: 'cascade' }),
    partNumber: integer('part_number').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    /** the MD5 hex of the part's bytes, in double quotes */
    etag: text('etag').notNull(),
    /** the checksum the client sent with the part (x-amz-checksum-*, verified), or null */
    checksum: jsonb('checksum').$type<ObjectChecksum>(),
    lastModified: ts('last_modified').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.partNumber] })],
);

export type BucketRow = typeof buckets.$inferSelect;
export type ObjectRow = typeof objects.$inferSelect;
/** An object change (object_events), in the order of `seq`; BUCKET triggers deliver them. */
export type ObjectEventRow = typeof objectEvents.$inferSelect;
export type MultipartUploadRow = typeof multipartUploads.$inferSelect;
export type MultipartPartRow = typeof multipartParts.$inferSelect;
