import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { STEP_ARG_ENGINE, STEP_ARG_NODE } from '../../engine/types.js';
import { badInput, notFound } from '../../platform/errors.js';
import { objectFilePath, parseS3Uri } from '../../storage/s3-uri.js';
import { requireArgs } from '../step-kinds/command.js';
import { prepareSparkInputs, type SparkInputsInput } from './step-inputs.js';
import { bucketMount, type PreparedStep, type StepKind, type StepKindContext } from '../step-kinds/types.js';

export interface SparkStepInput extends SparkInputsInput {
  appUri: string;
  args?: string[] | null;
  conf?: unknown;
}

// The runner below the engine directory of the master node's own install (any host's).
const RUNNER = `${STEP_ARG_ENGINE}/agent/spark-step.js`;
const MAX_CONF = 256;
// where drivers get their working directories (see driverDirs)
const DRIVER_DIRS = '.spark-drivers';
const CONF_KEY = /^spark\.[A-Za-z0-9_.-]{1,200}$/;
// the runner owns these: the cluster's master, client mode, and a UI port it can poll
const RESERVED_CONF = new Set([
  'spark.master',
  'spark.submit.deployMode',
  'spark.ui.port',
  'spark.ui.enabled',
  'spark.emberplane.runnerId',
]);

function requireSparkConf(value: unknown, field: string): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be an object of spark.* keys to string values');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_CONF) throw badInput(field, `must have at most ${MAX_CONF} entries`);
  const conf: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!CONF_KEY.test(k)) throw badInput(`${field}.${k}`, 'is not a Spark configuration key (spark.…)');
    if (RESERVED_CONF.has(k)) throw badInput(`${field}.${k}`, 'is set by the cluster and cannot be changed');
    if (typeof v !== 'string') throw badInput(`${field}.${k}`, 'must be a string');
    if (v.length > 4_096 || v.includes('\0')) throw badInput(`${field}.${k}`, 'must be at most 4096 characters without NUL');
    conf[k] = v;
  }
  return conf;
}

/**
 * Without the path mapping: s3:// arguments stay as they are (the app reads and writes them through
 * s3a, and what it writes arrives as objects through the S3 endpoint: nothing to register after the
 * step); their buckets must exist all the same, as with the mapping.
 */
async function checkArgs(args: string[], field: string, ctx: StepKindContext): Promise<void> {
  for (const [i, arg] of args.entries()) {
    if (!arg.startsWith('s3://')) continue;
    const { bucket } = parseS3Uri(arg, `${field}.${i}`, { allowPrefix: true });
    if (!(await ctx.storage.bucket(bucket, `${field}.${i}`))) throw notFound('bucket', bucket, `${field}.${i}`);
  }
}

/**
 * The s3:// mapping: an argument that is a whole `s3://bucket/key` URI reaches the application as
 * the local path of that object or prefix (<bucketsDir>/<bucket>/<key>, a trailing "/" kept). Its
 * bucket must exist. Any of them may be written (an output, or an input overwritten in place as
 * `mode("overwrite")` does): after the step the objects under each are made to match its files —
 * new ones added, deleted ones removed. Files unchanged since their object was written are not
 * read again.
 */
async function mapArgs(
  args: string[],
  field: string,
  ctx: StepKindContext,
): Promise<{ args: string[]; outputs: string[]; buckets: string[] }> {
  const outputs: string[] = [];
  const buckets = new Set<string>();
  const mapped: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (!arg.startsWith('s3://')) {
      mapped.push(arg);
      continue;
    }
    const f = `${field}.${i}`;
    const { bucket, key } = parseS3Uri(arg, f, { allowPrefix: true });
    buckets.add(bucket);
    const isPrefix = key === '' || key.endsWith('/');
    outputs.push(arg);
    if (!isPrefix && (await ctx.storage.head(bucket, key, { bucket: f, key: f }))) {
      mapped.push(objectFilePath(ctx.bucketsDir, bucket, key));
      continue;
    }
    if (!(await ctx.storage.bucket(bucket, f))) throw notFound('bucket', bucket, f);
    const dir = ctx.storage.prefixPath(bucket, key);
    mapped.push(isPrefix ? `${dir}/` : dir);
  }
  return { args: mapped, outputs, buckets: [...buckets] };
}

/**
 * The directory the runner makes each driver's working directory in: hidden in the buckets tree
 * (bucket names cannot start with "."; nothing lists it), which every worker's sandbox binds whole
 * at the same path (a known limit, see spark.js), so relative paths the driver makes absolute name
 * files executors of every node read. Made here once, as the buckets tree's (setgid group).
 */
function driverDirs(bucketsDir: string): string {
  const dir = path.join(path.resolve(bucketsDir), DRIVER_DIRS);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o2770);
  }
  return dir;
}

export const sparkStep: StepKind = {
  async prepare(input, field, ctx): Promise<PreparedStep> {
    const { appUri, args, conf } = input as SparkStepInput;
    if (!ctx.applications.includes('SPARK')) throw badInput(field, 'SPARK steps need a cluster created with the SPARK application');
    if (!/\.(py|jar)$/.test(appUri)) throw badInput(`${field}.appUri`, 'must name a .py or .jar application');
    const app = await ctx.storage.resolveUri(appUri, `${field}.appUri`);
    const given = requireArgs(args ?? [], `${field}.args`, 0);
    const sparkConf = requireSparkConf(conf, `${field}.conf`);
    const inputs = await prepareSparkInputs(input as SparkStepInput, appUri.endsWith('.jar'), field, ctx);
    const source = { appUri, args: given, conf: Object.keys(sparkConf).length ? sparkConf : null, ...inputs.source };
    const confArgs = Object.entries(sparkConf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);
    if (!ctx.objectPathMapping) {
      await checkArgs(given, `${field}.args`, ctx);
      return {
        // spark-submit fetches an s3:// application, --py-files and --jars itself in client mode
        // (through the Hadoop file system: s3a); drivers work in the step's own directory
        args: [STEP_ARG_NODE, RUNNER, '--driver-dirs=.', ...inputs.runnerArgs, ...confArgs, ...inputs.submitArgs, appUri, ...given],
        env: {},
        source,
        // no bucket is bound into the node's sandbox
        mounts: [],
      };
    }
    const mapped = await mapArgs(given, `${field}.args`, ctx);
    const drivers = driverDirs(ctx.bucketsDir);
    return {
      args: [
        STEP_ARG_NODE,
        RUNNER,
        `--driver-dirs=${drivers}`,
        ...inputs.runnerArgs,
        ...confArgs,
        ...inputs.submitArgs,
        app.path,
        ...mapped.args,
      ],
      env: {},
      source,
      outputs: mapped.outputs,
      // the driver's sandbox: the application's file, and the buckets its arguments name (it commits
      // what the executors wrote there)
      mounts: [
        { type: 'ro-bind', source: app.path, target: app.path },
        { type: 'bind', source: drivers, target: drivers },
        ...mapped.buckets.map((bucket) => bucketMount(ctx.bucketsDir, bucket, true)),
        ...inputs.mounts,
      ],
    };
  },
};
