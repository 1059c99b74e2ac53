// The SQL step runner: the process a master node agent starts for a SQL step (argv: this script,
// then one JSON argument, see SqlStepSpec). It runs the user's SELECT inside DuckDB's COPY, confined
// to the buckets it names, writes the result to a temp file and renames it into the bucket path (a
// reader never sees half a file) — or, without the path mapping, reads s3:// through DuckDB's
// httpfs with the cluster's credential (the node's AWS_* variables) and writes the result as an
// object (a multipart upload, which becomes the object whole at its completion) — and speaks the agent's stdout directives (docs/agent-protocol.md):
// `::progress` from DuckDB's own progress, `::result {"rowsWritten": N, ...}` at the end.
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, version } from '@duckdb/node-api';
import { connectS3, INSTANCE_OPTIONS, localPathsToUris, lockDown, sqlString } from './lockdown.js';

/**
 * @typedef {object} SqlStepSpec
 * @property {string} query one SELECT, s3:// URIs already mapped to local paths, no comments or `;`
 * @property {'PARQUET' | 'CSV'} format
 * @property {string} outputUri where the user asked for the output (s3://bucket/key)
 * @property {string | null} outputPath the local file of outputUri (null: over S3)
 * @property {string} bucketsDir where the buckets live (<bucketsDir>/<bucket>/<key>)
 * @property {string[]} buckets the buckets the query reads and writes: the only ones it may touch
 * @property {{ extensionDirectory: string } | null} httpfs without the path mapping: where httpfs is;
 *   the query's s3:// URIs are read over S3 and the output uploaded there
 *
 * The run's own scratch directory (the unfinished output, DuckDB's spill files) is made in the
 * step's working directory: private to the node, and gone with it.
 */

const PROGRESS_EVERY_MS = 250;

/** @param {string} raw @returns {SqlStepSpec} */
function parseSpec(raw) {
  const spec = JSON.parse(raw ?? '');
  for (const k of ['query', 'outputUri', 'bucketsDir']) {
    if (typeof spec[k] !== 'string' || !spec[k]) throw new Error(`spec.${k} is missing`);
  }
  if (!spec.httpfs && (typeof spec.outputPath !== 'string' || !spec.outputPath)) throw new Error('spec.outputPath is missing');
  if (spec.format !== 'PARQUET' && spec.format !== 'CSV') throw new Error('spec.format must be PARQUET or CSV');
  if (
    !Array.isArray(spec.buckets) ||
    !spec.buckets.every((/** @type {unknown} */ b) => typeof b === 'string' && /^[a-z0-9][a-z0-9.-]*$/.test(b))
  ) {
    throw new Error('spec.buckets must be a list of bucket names');
  }
  return spec;
}

/**
 * DuckDB sized to the node, as its instance type says (the agent's CLUSTER_INSTANCE_* variables):
 * one thread per vCPU and 80 % of its memory, leaving room for the process itself.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Record<string, string>}
 */
function nodeSize(env) {
  const vcpu = Number(env.CLUSTER_INSTANCE_VCPU);
  const memoryMb = Number(env.CLUSTER_INSTANCE_MEMORY_MB);
  return {
    ...(Number.isInteger(vcpu) && vcpu > 0 ? { threads: String(vcpu) } : {}),
    ...(Number.isInteger(memoryMb) && memoryMb > 0 ? { memory_limit: `${Math.floor(memoryMb * 0.8)}MB` } : {}),
  };
}

/** @param {number} bytes */
const size = (bytes) => (bytes < 1024 * 1024 ? `${bytes} bytes` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

/** @param {SqlStepSpec} spec */
async function run(spec) {
  const started = Date.now();
  // this run's own directory: the query may use it, but not the other runs' (their unfinished
  // outputs) nor DuckDB's default spill directory (<cwd>/.tmp)
  const runDir = await fs.mkdtemp(path.join(process.cwd(), 'sql-run-'));
  try {
    await runIn(spec, runDir, started);
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
}

/** @param {SqlStepSpec} spec @param {string} runDir @param {number} started */
async function runIn(spec, runDir, started) {
  const ext = spec.format === 'PARQUET' ? 'parquet' : 'csv';
  const temp = path.join(runDir, `output.${ext}`);
  const instance = await DuckDBInstance.create(':memory:', {
    ...INSTANCE_OPTIONS,
    ...nodeSize(process.env),
    temp_directory: path.join(runDir, 'spill'),
    ...(spec.httpfs ? { extension_directory: spec.httpfs.extensionDirectory } : {}),
  });
  const connection = await instance.connect();
  if (spec.httpfs) await connectS3(connection, process.env);
  // over S3 the allowed prefixes are the buckets' URIs: the query reaches no other bucket, nor any local file
  const directories = [...spec.buckets.map((b) => (spec.httpfs ? `s3://${b}/` : path.join(spec.bucketsDir, b))), runDir];
  await lockDown(connection, directories, { enable_progress_bar_print: false, enable_progress_bar: true, progress_bar_time: 0 });
  const sized = await connection.runAndReadAll(`SELECT current_setting('threads'), current_setting('memory_limit')`);
  const [threads, memory] = sized.getRows()[0] ?? [];
  console.log(`DuckDB ${version()} (${threads} threads, ${memory} memory): writing ${spec.format} to ${spec.outputUri}`);
  console.log(`query: ${localPathsToUris(spec.query, spec.bucketsDir)}`);

  let stopping = false;
  const stop = () => {
    // the agent's cancel: DuckDB stops the query, the COPY fails and the temp file is removed below
    stopping = true;
    connection.interrupt();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  let last = -1;
  const poll = setInterval(() => {
    const { percentage } = connection.progress;
    const value = Math.floor(percentage * 10) / 1000; // 0.1 % steps: no directive for noise
    if (percentage >= 0 && value !== last && value < 1) {
      last = value;
      console.log(`::progress ${value}`);
    }
  }, PROGRESS_EVERY_MS);

  const options = spec.format === 'PARQUET' ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
  let rowsWritten;
  try {
    // newlines: the query is one SELECT whose parentheses balance, so it can't end the COPY early
    const target = spec.outputPath ? temp : spec.outputUri;
    const reader = await connection.runAndReadAll(`COPY (\n${spec.query}\n) TO ${sqlString(target)} (${options})`);
    rowsWritten = Number(reader.getRows()[0]?.[0] ?? 0);
    if (spec.outputPath) await publish(temp, spec.outputPath);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw stopping ? new Error('the query was interrupted (step cancelled)') : err;
  } finally {
    clearInterval(poll);
    connection.closeSync();
    instance.closeSync();
  }
  // (over S3 the object's size is the endpoint's to tell)
  const bytes = spec.outputPath ? (await fs.stat(spec.outputPath)).size : null;
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  console.log('::progress 1');
  console.log(`wrote ${rowsWritten} rows${bytes === null ? '' : ` (${size(bytes)})`} to ${spec.outputUri} in ${seconds} s`);
  console.log(`::result ${JSON.stringify({ rowsWritten, outputUri: spec.outputUri, format: spec.format, bytes })}`);
}

/**
 * Puts the finished output in place whole: copied next to its target under a hidden name (the
 * scratch directory and the bucket are different mounts in the node's sandbox, so no rename across
 * them), synced, then renamed over it. Hidden names never become objects.
 * @param {string} temp @param {string} target
 */
async function publish(temp, target) {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const hidden = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${Date.now()}.tmp`);
  try {
    await fs.copyFile(temp, hidden);
    const file = await fs.open(hidden, 'r+');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(hidden, target);
  } catch (err) {
    await fs.rm(hidden, { force: true });
    throw err;
  }
}

/** @param {unknown} err @param {string} [bucketsDir] @returns {never} */
function fail(err, bucketsDir) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`SQL step failed: ${bucketsDir ? localPathsToUris(message, bucketsDir) : message}`);
  process.exit(1);
}

/** @returns {SqlStepSpec} */
function specFromArgv() {
  try {
    return parseSpec(process.argv[2] ?? '');
  } catch (err) {
    return fail(err);
  }
}

const spec = specFromArgv();
run(spec).catch((err) => fail(err, spec.bucketsDir));
