import type { Db } from '../platform/db/client.js';
import type {
  BucketRow,
  MultipartPartRow,
  MultipartUploadRow,
  ObjectChecksum,
  ObjectEventKind,
  ObjectMetadata,
  ObjectRow,
} from './tables.js';
import { Channel } from '../platform/notifications/channels.js';

export async function insertBucket(db: Db, name: string): Promise<BucketRow | undefined> {
  const [row] = await db<BucketRow[]>`insert into buckets (name) values (${name}) on conflict do nothing returning *`;
  return row;
}

export async function bucketByName(db: Db, name: string): Promise<BucketRow | undefined> {
  const [row] = await db<BucketRow[]>`select * from buckets where name = ${name}`;
  return row;
}

/** Locks the bucket against deletion (not against other writers) for the rest of the transaction. */
export async function lockBucketShared(db: Db, name: string): Promise<boolean> {
  const rows = await db`select 1 from buckets where name = ${name} for key share`;
  return rows.length > 0;
}

export async function lockBucketExclusive(db: Db, name: string): Promise<boolean> {
  const rows = await db`select 1 from buckets where name = ${name} for update`;
  return rows.length > 0;
}

export async function listBuckets(db: Db): Promise<BucketRow[]> {
  return db<BucketRow[]>`select * from buckets order by name`;
}

export async function deleteBucketRow(db: Db, name: string): Promise<void> {
  await db`delete from buckets where name = ${name}`;
}

export async function hasObjects(db: Db, bucket: string): Promise<boolean> {
  const rows = await db`select 1 from objects where bucket = ${bucket} limit 1`;
  return rows.length > 0;
}

/** Deletes every object of a bucket, recording an ObjectRemoved event for each; returns how many. */
export async function deleteAllObjects(db: Db, bucket: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    with gone as (delete from objects where bucket = ${bucket} returning bucket, key, size, etag),
    logged as (
      insert into object_events (bucket, key, kind, size, etag)
      select bucket, key, 'ObjectRemoved:Delete', size, etag from gone order by key returning seq),
    outbox as (insert into trigger_outbox (source_type, object_event_seq) select 'BUCKET', seq from logged order by seq returning 1)
    select (select count(*)::int from outbox) as n, pg_notify(${Channel.triggerOutbox}, 'BUCKET')`;
  return row!.n;
}

export async function objectByKey(db: Db, bucket: string, key: string): Promise<ObjectRow | undefined> {
  const [row] = await db<ObjectRow[]>`select * from objects where bucket = ${bucket} and key = ${key}`;
  return row;
}

/** Waits for a writer of the key to commit, then keeps it from changing until the transaction ends. */
export async function objectByKeyShared(db: Db, bucket: string, key: string): Promise<ObjectRow | undefined> {
  const [row] = await db<ObjectRow[]>`select * from objects where bucket = ${bucket} and key = ${key} for share`;
  return row;
}

export interface KeyRange {
  /** keys from here on (`inclusive`) or after it */
  from: string;
  inclusive: boolean;
  /** keys below this bound (null: no bound) */
  end: string | null;
}

/** Objects of a key range in byte order: one range scan of the primary key (keys are COLLATE "C"). */
export async function objectsInRange(db: Db, bucket: string, range: KeyRange, limit: number): Promise<ObjectRow[]> {
  return db<ObjectRow[]>`
    select * from objects
    where bucket = ${bucket}
      and ${range.inclusive ? db`key >= ${range.from}` : db`key > ${range.from}`}
      ${range.end === null ? db`` : db`and key < ${range.end}`}
    order by key
    limit ${limit}`;
}

/** An object that is a "directory" of `key` (one of `ancestors`) or lies inside it (keys in [below, belowEnd)). */
export async function blockingKey(
  db: Db,
  bucket: string,
  ancestors: string[],
  below: string,
  belowEnd: string,
): Promise<string | undefined> {
  const [row] = await db<{ key: string }[]>`
    select key from objects
    where bucket = ${bucket} and (key = any(${db.array(ancestors)}::text[]) or (key >= ${below} and key < ${belowEnd}))
    limit 1`;
  return row?.key;
}

export interface ObjectWrite {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string;
  /** none: {} (a new version of an object does not keep the old one's metadata, as S3) */
  metadata?: ObjectMetadata;
  checksum?: ObjectChecksum | null;
}

export async function upsertObject(db: Db, o: ObjectWrite): Promise<ObjectRow> {
  const [row] = await db<ObjectRow[]>`
    insert into objects (bucket, key, size, etag, content_type, metadata, checksum)
    values (${o.bucket}, ${o.key}, ${o.size}, ${o.etag}, ${o.contentType}, ${db.json((o.metadata ?? {}) as never)},
            ${o.checksum ? db.json(o.checksum as never) : null})
    on conflict (bucket, key) do update
      set size = excluded.size, etag = excluded.etag, content_type = excluded.content_type, metadata = excluded.metadata,
          checksum = excluded.checksum, updated_at = now()
    returning *`;
  return row!;
}

/** The database's clock (the one updated_at is written with), not this process's. */
export async function databaseNow(db: Db): Promise<Date> {
  const [row] = await db<Array<{ now: Date }>>`select clock_timestamp() as now`;
  return row!.now;
}

export async function deleteObjectRow(db: Db, bucket: string, key: string): Promise<ObjectRow | undefined> {
  const [row] = await db<ObjectRow[]>`delete from objects where bucket = ${bucket} and key = ${key} returning *`;
  return row;
}

export async function insertObjectEvent(
  db: Db,
  kind: ObjectEventKind,
  o: Pick<ObjectRow, 'bucket' | 'key' | 'size' | 'etag'>,
): Promise<void> {
  // the same statement puts it in the trigger dispatcher's outbox (NOTIFYs with one payload per
  // transaction collapse into one)
  await db`
    with e as (insert into object_events (bucket, key, kind, size, etag) values (${o.bucket}, ${o.key}, ${kind}, ${o.size}, ${o.etag}) returning seq),
    o as (insert into trigger_outbox (source_type, object_event_seq) select 'BUCKET', seq from e returning id)
    select pg_notify(${Channel.triggerOutbox}, 'BUCKET') from o`;
}

// ---- multipart uploads ----

export async function insertUpload(
  db: Db,
  u: Pick<MultipartUploadRow, 'id' | 'bucket' | 'key' | 'contentType' | 'metadata' | 'checksumAlgorithm'>,
): Promise<MultipartUploadRow> {
  const [row] = await db<MultipartUploadRow[]>`
    insert into multipart_uploads (id, bucket, key, content_type, metadata, checksum_algorithm)
    values (${u.id}, ${u.bucket}, ${u.key}, ${u.contentType}, ${db.json(u.metadata as never)}, ${u.checksumAlgorithm})
    returning *`;
  return row!;
}

/** The upload of that bucket and key; `lock`: 'share' keeps it from completing or aborting (part
 *  writers), 'update' waits for every part writer and excludes the rest (complete, abort). */
export async function uploadOf(
  db: Db,
  id: string,
  bucket: string,
  key: string,
  lock: 'none' | 'share' | 'update' = 'none',
): Promise<MultipartUploadRow | undefined> {
  const [row] = await db<MultipartUploadRow[]>`
    select * from multipart_uploads where id = ${id} and bucket = ${bucket} and key = ${key}
    ${lock === 'share' ? db`for share` : lock === 'update' ? db`for update` : db``}`;
  return row;
}

export async function deleteUpload(db: Db, id: string): Promise<void> {
  await db`delete from multipart_uploads where id = ${id}`;
}

/** Uploads initiated before `before` (oldest first), locked, skipping those a writer holds. */
export async function expiredUploads(db: Db, before: Date, limit: number): Promise<MultipartUploadRow[]> {
  return db<MultipartUploadRow[]>`
    select * from multipart_uploads where initiated_at < ${before}
    order by initiated_at limit ${limit} for update skip locked`;
}

/** Which of `ids` are uploads in progress. */
export async function existingUploadIds(db: Db, ids: string[]): Promise<Set<string>> {
  const rows = await db<{ id: string }[]>`select id from multipart_uploads where id = any(${db.array(ids)}::text[])`;
  return new Set(rows.map((r) => r.id));
}

export interface UploadListingStart {
  /** uploads of keys from here on (`inclusive`) or after it */
  from: string;
  inclusive: boolean;
  end: string | null;
  /** within the key `from`, only uploads after this one (ListMultipartUploads' upload-id-marker) */
  afterUploadId: string | null;
}

/** ListMultipartUploads: uploads of a key range by key, then initiation. */
export async function uploadsInRange(db: Db, bucket: string, start: UploadListingStart, limit: number): Promise<MultipartUploadRow[]> {
  const after = start.afterUploadId;
  return db<MultipartUploadRow[]>`
    select * from multipart_uploads
    where bucket = ${bucket}
      and ${
        after !== null
          ? // the marker's own timestamp (microseconds; a JS Date would round it to milliseconds)
            db`(key > ${start.from} or (key = ${start.from} and (initiated_at, id) > (select initiated_at, id from multipart_uploads where id = ${after})))`
          : start.inclusive
            ? db`key >= ${start.from}`
            : db`key > ${start.from}`
      }
      ${start.end === null ? db`` : db`and key < ${start.end}`}
    order by key, initiated_at, id
    limit ${limit}`;
}

export async function uploadById(db: Db, bucket: string, id: string): Promise<MultipartUploadRow | undefined> {
  const [row] = await db<MultipartUploadRow[]>`select * from multipart_uploads where id = ${id} and bucket = ${bucket}`;
  return row;
}

export async function upsertPart(db: Db, p: Omit<MultipartPartRow, 'lastModified'>): Promise<MultipartPartRow> {
  const [row] = await db<MultipartPartRow[]>`
    insert into multipart_parts (upload_id, part_number, size, etag, checksum)
    values (${p.uploadId}, ${p.partNumber}, ${p.size}, ${p.etag}, ${p.checksum === null ? null : db.json(p.checksum as never)})
    on conflict (upload_id, part_number) do update
      set size = excluded.size, etag = excluded.etag, checksum = excluded.checksum, last_modified = now()
    returning *`;
  return row!;
}

/** Parts after `afterPart` in order (ListParts), at most `limit`. */
export async function partsOf(db: Db, uploadId: string, afterPart: number, limit: number): Promise<MultipartPartRow[]> {
  return db<MultipartPartRow[]>`
    select * from multipart_parts where upload_id = ${uploadId} and part_number > ${afterPart}
    order by part_number limit ${limit}`;
}

export async function partsByNumber(db: Db, uploadId: string, numbers: number[]): Promise<MultipartPartRow[]> {
  return db<MultipartPartRow[]>`
    select * from multipart_parts where upload_id = ${uploadId} and part_number = any(${db.array(numbers)}::int[])`;
}

/**
 * Serialises writers of one path for the rest of the transaction: a file `a/b` and a directory
 * marker `a/b/` are one path on disk, and the filesystem alone cannot refuse the second of two
 * racing writers when the directory is empty.
 */
export async function lockObjectPath(db: Db, bucket: string, path: string): Promise<void> {
  await db`select pg_advisory_xact_lock(hashtextextended(${`${bucket}/${path}`}, 0))`;
}

/** lockBucketShared, then (when the bucket exists) lockObjectPath: one round trip for a write's two locks. */
export async function lockBucketAndPath(db: Db, bucket: string, path: string): Promise<boolean> {
  const rows = await db`
    with b as (select 1 from buckets where name = ${bucket} for key share)
    select pg_advisory_xact_lock(hashtextextended(${`${bucket}/${path}`}, 0)) from b`;
  return rows.length > 0;
}
