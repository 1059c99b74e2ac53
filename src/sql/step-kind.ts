import path from 'node:path';
import { SQL_STEP_RUNNER_ARG } from '../engine/sql/duckdb.js';
import { STEP_ARG_NODE } from '../engine/types.js';
import { badInput } from '../platform/errors.js';
import { objectFilePath, parseS3Uri, s3Uri, type S3Location } from '../storage/s3-uri.js';
import { prepareQuery, requireBuckets } from './preview-query.js';
import { bucketMount, type PreparedStep, type StepKind } from '../clusters/step-kinds/types.js';

export interface SqlInput {
  query: string;
  outputUri?: string | null;
  format?: string | null;
}

const MAX_SPEC_BYTES = 120_000;

export const SQL_FORMATS = ['PARQUET', 'CSV'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

export function requireSqlApplication(applications: readonly string[], field: string): void {
  if (!applications.includes('DUCKDB')) {
    throw badInput(
      field,
      `SQL steps need a cluster with the DUCKDB application (this cluster has ${applications.length ? applications.join(', ') : 'none'})`,
    );
  }
}

/**
 * The output location: a key, or a prefix (ending in "/", or a bare bucket) under which the step
 * writes one file, part-00000.<ext>, as Spark names its parts.
 */
function outputLocation(uri: unknown, format: SqlFormat, field: string): S3Location {
  if (typeof uri !== 'string' || uri === '') throw badInput(field, 'is required: the s3://bucket/key (or s3://bucket/prefix/) to write');
  const location = parseS3Uri(uri, field, { allowPrefix: true });
  if (location.key === '' || location.key.endsWith('/')) {
    return { bucket: location.bucket, key: `${location.key}part-00000.${format.toLowerCase()}` };
  }
  return location;
}

/**
 * A DuckDB query over objects in buckets, its result written to one object as Parquet or CSV. The
 * master node runs the SQL step runner (src/engine/sql/sql-step.js) with its own node and install. With the
 * path mapping it reads and writes the buckets' files (bound into its sandbox); without it, s3://
 * URIs through DuckDB's httpfs and the cluster's own credential, the result uploaded as an object
 * (nothing to register after the step, no bucket bound).
 */
export const sqlStep: StepKind = {
  async prepare(input, field, ctx): Promise<PreparedStep> {
    const { query, outputUri, format: rawFormat } = input as SqlInput;
    requireSqlApplication(ctx.applications, field);
    const format = (rawFormat ?? 'PARQUET').toUpperCase() as SqlFormat;
    if (!SQL_FORMATS.includes(format)) throw badInput(`${field}.format`, `must be one of ${SQL_FORMATS.join(', ')}`);
    const output = outputLocation(outputUri, format, `${field}.outputUri`);
    const overS3 = !ctx.objectPathMapping;
    const mapped = await prepareQuery(query, `${field}.query`, overS3 ? null : ctx.bucketsDir, ctx.catalog);
    await requireBuckets(ctx.storage, mapped.inputs, `${field}.query`);
    await requireBuckets(ctx.storage, [output], `${field}.outputUri`);

    const spec = {
      query: mapped.sql,
      format,
      outputUri: s3Uri(output.bucket, output.key),
      outputPath: overS3 ? null : objectFilePath(ctx.bucketsDir, output.bucket, output.key),
      bucketsDir: path.resolve(ctx.bucketsDir),
      buckets: [...new Set([...mapped.inputs, output].map((l) => l.bucket))],
      httpfs: overS3 ? { extensionDirectory: ctx.duckdbExtensionsDir } : null,
    };
    const arg = JSON.stringify(spec);
    // one argv string: Linux refuses a longer one (MAX_ARG_STRLEN, 128 KiB) when the step starts
    if (Buffer.byteLength(arg) > MAX_SPEC_BYTES) {
      throw badInput(`${field}.query`, `is too long: with its s3:// URIs mapped to local paths it takes more than ${MAX_SPEC_BYTES} bytes`);
    }
    return {
      args: [STEP_ARG_NODE, SQL_STEP_RUNNER_ARG, arg],
      env: {},
      source: { query, outputUri: spec.outputUri, format },
      outputs: overS3 ? [] : [spec.outputUri],
      // the node's sandbox sees the buckets the query reads (read-only) and the one it writes; over
      // S3 none, and the extensions directory (read-only) instead
      mounts: overS3
        ? [{ type: 'ro-bind', source: ctx.duckdbExtensionsDir, target: ctx.duckdbExtensionsDir }]
        : spec.buckets.map((bucket) => bucketMount(ctx.bucketsDir, bucket, bucket === output.bucket)),
    };
  },
};
