// BUCKET triggers (S3 event notifications): object changes in a bucket, by event name and key
// prefix/suffix, delivered with S3's record shape.
import crypto from 'node:crypto';
import { bucketByName } from '../../../storage/queries.js';
import type { ObjectEventRow } from '../../../storage/tables.js';
import { badInput, notFound } from '../../../platform/errors.js';
import { requireBucketName, requireKeyPrefix, MAX_KEY_BYTES } from '../../../storage/s3-uri.js';
import { requireList } from '../../../platform/validate.js';
import type { TriggerSourceKind } from '../types.js';
import { ACCOUNT, REGION } from '../../../platform/aws-account.js';

/** The S3 event names a bucket trigger can ask for: what object changes here produce, and their wildcards. */
export const BUCKET_EVENT_NAMES = [
  's3:ObjectCreated:*',
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*',
  's3:ObjectRemoved:Delete',
] as const;
export type BucketEventName = (typeof BUCKET_EVENT_NAMES)[number];

export interface BucketTriggerConfig {
  bucket: string;
  events: BucketEventName[];
  /** key filters (S3's FilterRules); '' matches every key */
  prefix: string;
  suffix: string;
}

interface BucketSourceInput {
  bucket?: unknown;
  events?: unknown;
  prefix?: unknown;
  suffix?: unknown;
}

export const bucketSource: TriggerSourceKind<BucketTriggerConfig> = {
  type: 'BUCKET',
  field: 'bucket',
  readAction: 'buckets:GetObject',
  async parse(raw, field, { sql }) {
    const input = (raw ?? {}) as BucketSourceInput;
    if (typeof input.bucket !== 'string') throw badInput(`${field}.bucket`, 'is required');
    const bucket = requireBucketName(input.bucket, `${field}.bucket`);
    if (!Array.isArray(input.events)) throw badInput(`${field}.events`, 'is required');
    requireList(input.events, `${field}.events`, 1, BUCKET_EVENT_NAMES.length);
    const events: BucketEventName[] = [];
    input.events.forEach((name, i) => {
      if (!(BUCKET_EVENT_NAMES as readonly unknown[]).includes(name)) {
        throw badInput(`${field}.events[${i}]`, `must be one of ${BUCKET_EVENT_NAMES.join(', ')}`);
      }
      if (events.includes(name as BucketEventName)) throw badInput(`${field}.events[${i}]`, `lists ${String(name)} twice`);
      events.push(name as BucketEventName);
    });
    const prefix = input.prefix == null ? '' : requireKeyPrefix(String(input.prefix), `${field}.prefix`);
    const suffix = input.suffix == null ? '' : String(input.suffix);
    if (Buffer.byteLength(suffix) > MAX_KEY_BYTES) throw badInput(`${field}.suffix`, `must be at most ${MAX_KEY_BYTES} bytes`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(suffix)) throw badInput(`${field}.suffix`, 'must not contain control characters');
    // S3 configures notifications on an existing bucket
    if (!(await bucketByName(sql, bucket))) throw notFound('bucket', bucket, `${field}.bucket`);
    return { bucket, events, prefix, suffix };
  },
};

/** S3's sequencer: a hex string that orders the events of a key (here: of the whole store). */
export const sequencerOf = (seq: number) => seq.toString(16).toUpperCase().padStart(16, '0');

/**
 * Keys in S3 event records are URL-encoded as HTML forms encode them: a space is "+", "/" stays,
 * and everything but letters, digits and `.-_*` is percent-encoded (decode: replace + by space,
 * then decodeURIComponent).
 */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment)
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+'),
    )
    .join('/');
}

export function bucketMatches(config: BucketTriggerConfig, change: ObjectEventRow): boolean {
  const name = `s3:${change.kind}`;
  const family = `s3:${change.kind.split(':')[0]}:*`;
  if (!config.events.some((e) => e === name || e === family)) return false;
  return change.key.startsWith(config.prefix) && change.key.endsWith(config.suffix);
}

/**
 * The S3 event notification a function receives (one record per event, as S3 sends, with every
 * field of S3's documented record). Object events do not record who made the change or from
 * where: the principal is the account (the owner of every bucket here) and the source address
 * the loopback one. The response ids are the event's own: S3's 16-hex request id (the
 * sequencer) and a base64 host id derived from it.
 */
export function s3Event(triggerName: string, change: ObjectEventRow) {
  const created = change.kind.startsWith('ObjectCreated:');
  const sequencer = sequencerOf(change.seq);
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: REGION,
        eventTime: change.at.toISOString(),
        eventName: change.kind,
        userIdentity: { principalId: ACCOUNT },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: {
          'x-amz-request-id': sequencer,
          'x-amz-id-2': crypto.createHash('sha256').update(`${change.bucket}\n${sequencer}`).digest('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: triggerName,
          bucket: { name: change.bucket, ownerIdentity: { principalId: ACCOUNT }, arn: `arn:aws:s3:::${change.bucket}` },
          // S3 sends no size or ETag for removals; its eTag has no quotes
          object: {
            key: encodeEventKey(change.key),
            ...(created ? { size: change.size, eTag: change.etag?.replace(/"/g, '') } : {}),
            sequencer,
          },
        },
      },
    ],
  };
}
