import path from 'node:path';
import type { StepFetch, StepMount } from '../../engine/types.js';
import type { Secrets } from '../../platform/secrets.js';
import type { CatalogLookup } from '../spark/metastore.js';
import type { StorageService } from '../../storage/service.js';

/** What a step kind needs to know to turn a user's step into a process on the master node. */
export interface StepKindContext {
  /** the cluster's applications (SPARK, DUCKDB) */
  applications: readonly string[];
  bucketsDir: string;
  /**
   * OBJECT_PATH_MAPPING: s3:// URIs of SPARK and SQL steps become local paths of the buckets
   * directory (bound into the node's sandbox); off, they stay URIs, read and written over the S3
   * endpoint with the cluster's own credential
   */
  objectPathMapping: boolean;
  /** where DuckDB's httpfs extension is (SQL steps load it without the path mapping) */
  duckdbExtensionsDir: string;
  storage: StorageService;
  secrets: Secrets;
  /** the install's catalog tables, for SQL steps' `catalog.<db>.<table>` */
  catalog: CatalogLookup;
  /** the kinds of step there are, by StepInput field */
  kinds: StepKinds;
}

/**
 * A step ready to run: the argv and env the master node's agent starts, fixed when the step is
 * added (so a resend after a reconnect runs exactly the same thing), plus what the user asked for.
 */
export interface PreparedStep {
  args: string[];
  env: Record<string, string>;
  /** the kind's own input, as the API shows it back (script, spark, sql) */
  source?: Record<string, unknown>;
  /** s3:// locations the step writes: registered as objects when it completes */
  outputs?: string[];
  /** what of the host the step's sandbox sees beside the node's own directory (local files of objects and buckets) */
  mounts?: StepMount[];
  /** objects the node fetches over the S3 endpoint into the step's directory before it starts (no path mapping) */
  fetch?: StepFetch[];
}

/** A bucket's directory as a step's sandbox sees it: at its own path, writable or read-only. */
export function bucketMount(bucketsDir: string, bucket: string, writable: boolean): StepMount {
  const dir = path.join(path.resolve(bucketsDir), bucket);
  return { type: writable ? 'bind' : 'ro-bind', source: dir, target: dir };
}

export type StepKindName = 'COMMAND' | 'SCRIPT' | 'SPARK' | 'SQL';

/** Each GraphQL StepInput field and the kind that runs it. */
export type StepKinds = Record<'command' | 'script' | 'spark' | 'sql', { name: StepKindName; kind: StepKind }>;

export interface StepKind {
  /** throws AppError (BAD_USER_INPUT/NOT_FOUND with `field`) for input the kind can't run */
  prepare(input: unknown, field: string, ctx: StepKindContext): Promise<PreparedStep>;
}
