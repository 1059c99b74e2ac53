// @ts-check
// Runs one SPARK step on the master node: spark-submit in client mode against the cluster's Spark
// master (SPARK_MASTER_URL, set by the node agent), with the driver's UI on a free port. Progress
// comes from the driver's own status API (see SparkProgress) as `::progress` lines on the agent's
// control pipe (CLUSTER_CONTROL_FD), never on stdout: the driver's output has pipes of its own,
// read here and forwarded with backpressure, so that its writes block instead of being dropped
// (the JVM's System.out silently drops what a non-blocking pipe won't take, and Node makes the
// stdout it inherits non-blocking). The exit code is spark-submit's.
//
//   node spark-step.js --driver-dirs=dir [--driver-file=path]… [--driver-archive=path[#alias]]… [spark-submit options…] <app> [app args…]
//
// The driver runs in a directory of its own, made under --driver-dirs (a hidden directory of the
// buckets tree, which every worker's sandbox sees at the same path) and removed when spark-submit
// ends: a relative path the driver makes absolute (`spark.read.json("examples/…")`) then names a
// file executors on other nodes can read. Files and archives (the step's `files`/`archives`) are
// placed there too: apps open them by relative path, which Spark's --files/--archives do not serve
// on the driver in client mode.
//
// Dependency-free like the agent, so it ships with it.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, getJson, urlHost } from './spark.js';
import { SparkProgress } from './spark-progress.js';

// the status API is polled with one kept-alive connection, a second apart, with time to answer: a
// request cut mid-response makes the driver's Jetty log an EofException trace into the step's log
const POLL_MS = 1_000;
const REQUEST_TIMEOUT_MS = 30_000;
const statusAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
// Spark moves the UI to the next port (up to spark.port.maxRetries, 16) when the picked one was
// taken in between; the driver that answers must carry our token to be ours
const UI_PORT_RETRIES = 16;
// (not named …token: Spark's status API redacts such values)
const TOKEN_KEY = 'spark.emberplane.runnerId';

const controlFd = Number(process.env.CLUSTER_CONTROL_FD ?? 1);

/** A `::progress`/`::result` line for the agent. @param {string} line */
function control(line) {
  writeSync(controlFd, `${line}\n`);
}

/** @param {string} text */
function fail(text) {
  process.stderr.write(`spark-step: ${text}\n`);
  process.exit(2);
}

const { SPARK_HOME: home, SPARK_MASTER_URL: master } = process.env;
if (!home) fail('SPARK_HOME is not set: this node is not part of a SPARK cluster');
if (!master) fail('SPARK_MASTER_URL is not set: this node is not part of a SPARK cluster');
let userArgs = process.argv.slice(2);
const DRIVER_DIRS = '--driver-dirs=';
const DRIVER_FILE = '--driver-file=';
const DRIVER_ARCHIVE = '--driver-archive=';
if (!userArgs[0]?.startsWith(DRIVER_DIRS))
  fail('usage: spark-step.js --driver-dirs=dir [--driver-file=path]… [--conf key=value]… <app> [args…]');
// (a fresh name: nothing planted in the shared tree beforehand can be taken for it; group rwx and
// setgid as the buckets tree, for executors of the other nodes' uids)
const driverDir = mkdtempSync(
  path.join(/** @type {string} */ (userArgs[0]).slice(DRIVER_DIRS.length), `${process.env.CLUSTER_STEP_ID ?? 'step'}-`),
);
chmodSync(driverDir, 0o2770);
/** Removes the driver's directory: GNU rm neither follows links nor races on them. */
const removeDriverDir = () => spawnSync('rm', ['-rf', '--one-file-system', '--', driverDir], { stdio: ['ignore', 'inherit', 'inherit'] });
/**
 * Unpacks an archive as Spark does for executors: zips with Python's zipfile (which keeps members
 * inside the target), tars with GNU tar (which refuses members with `..`, strips leading `/` and
 * makes links last). @param {string} file @param {string} target
 */
function unpack(file, target) {
  const run = file.endsWith('.zip')
    ? spawnSync(
        process.env.PYSPARK_PYTHON || 'python3',
        ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', file, target],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      )
    : spawnSync(
        '/bin/sh',
        ['-c', 'mkdir -p -- "$2" && exec tar -x --no-same-owner --no-same-permissions -f "$1" -C "$2"', 'unpack', file, target],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
  return run.status === 0;
}

try {
  for (userArgs = userArgs.slice(1); userArgs.length > 0; userArgs = userArgs.slice(1)) {
    const arg = /** @type {string} */ (userArgs[0]);
    if (arg.startsWith(DRIVER_FILE)) {
      const file = arg.slice(DRIVER_FILE.length);
      copyFileSync(file, path.join(driverDir, path.basename(file)));
    } else if (arg.startsWith(DRIVER_ARCHIVE)) {
      const [file, alias] = /** @type {[string, string | undefined]} */ (arg.slice(DRIVER_ARCHIVE.length).split('#'));
      // under its name, or its #alias
      if (!unpack(file, path.join(driverDir, alias ?? path.basename(file)))) throw new Error(`cannot unpack ${file}`);
    } else {
      break;
    }
  }
} catch (err) {
  removeDriverDir();
  fail(err instanceof Error ? err.message : String(err));
}
if (userArgs.length === 0) {
  removeDriverDir();
  fail('usage: spark-step.js --driver-dirs=dir [--conf key=value]… <app> [args…]');
}

// the driver's UI listens where the node's Spark does (SPARK_LOCAL_IP, set by the node agent)
const address = process.env.SPARK_LOCAL_IP || '127.0.0.1';
const uiPort = await freePort(address);
const token = randomUUID();
/** the status API of our driver, once found @type {string | null} */
let ui = null;
const child = spawn(
  path.join(/** @type {string} */ (home), 'bin', 'spark-submit'),
  [
    '--master',
    /** @type {string} */ (master),
    '--deploy-mode',
    'client',
    '--conf',
    `spark.ui.port=${uiPort}`,
    '--conf',
    `${TOKEN_KEY}=${token}`,
    // the console progress bar is for terminals; progress travels as ::progress instead
    '--conf',
    'spark.ui.showConsoleProgress=false',
    // executors on a worker being decommissioned (shrink) finish their tasks and hand over
    '--conf',
    'spark.decommission.enabled=true',
    // the node's spark-defaults.conf (SPARK_CONF_DIR) has what every driver of a node needs
    ...userArgs,
  ],
  {
    cwd: driverDir,
    env: { ...process.env, CLUSTER_CONTROL_FD: undefined },
    // pipes of its own (blocking on its side), and not the control pipe
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
// (a write that the agent is not reading yet pauses the driver's pipe: nothing is dropped)
child.stdout?.pipe(process.stdout, { end: false });
child.stderr?.pipe(process.stderr, { end: false });

// cancellation: the agent signals the whole group; pass TERM on and wait for spark-submit's end
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => child.kill('SIGINT'));

/** @type {string | null} */
let appId = null;
let lastProgress = -1;
const progress = new SparkProgress();
let done = false;
/** ends the poll loop's wait between two polls (spark-submit's end need not wait for the next poll) */
let wake = () => {};

/** Looks for our driver's UI at the picked port and the ones Spark would move to. */
async function findDriver() {
  for (let port = uiPort; port <= uiPort + UI_PORT_RETRIES && port <= 65_535; port++) {
    const base = `http://${urlHost(address)}:${port}/api/v1`;
    const apps = await getJson(`${base}/applications`, REQUEST_TIMEOUT_MS, statusAgent);
    if (!Array.isArray(apps) || !apps[0]?.id) continue;
    const id = String(apps[0].id);
    const env = await getJson(`${base}/applications/${id}/environment`, REQUEST_TIMEOUT_MS, statusAgent);
    /** @type {unknown[]} */
    const props = Array.isArray(env?.sparkProperties) ? env.sparkProperties : [];
    if (props.some((p) => Array.isArray(p) && p[0] === TOKEN_KEY && p[1] === token)) {
      ui = base;
      appId = id;
      // the live driver UI, while the app runs (Step.spark.uiUrl)
      process.stdout.write(`::result ${JSON.stringify({ applicationId: appId, uiUrl: `http://${urlHost(address)}:${port}` })}\n`);
      return;
    }
  }
}

async function poll() {
  while (!done) {
    if (!appId) await findDriver();
    if (appId && ui) {
      const jobs = await getJson(`${ui}/applications/${appId}/jobs`, REQUEST_TIMEOUT_MS, statusAgent);
      if (Array.isArray(jobs) && jobs.length > 0 && !done) {
        const value = progress.update(jobs);
        if (value !== lastProgress) {
          lastProgress = value;
          control(`::progress ${value.toFixed(4)}`);
        }
      }
    }
    await new Promise((r) => {
      const timer = setTimeout(r, POLL_MS);
      wake = () => {
        clearTimeout(timer);
        r(undefined);
      };
    });
  }
}

const polling = poll();
const [code, signal] = await new Promise((resolve) => {
  child.once('error', (err) => {
    process.stderr.write(`spark-step: cannot run spark-submit: ${err.message}\n`);
    resolve([127, null]);
  });
  // (after its pipes are read to their end: all of the driver's output is forwarded)
  child.once('close', (c, s) => resolve([c, s]));
});
done = true;
wake();
await polling;
statusAgent.destroy();
removeDriverDir();
if (code === 0) control('::progress 1');
if (appId) control(`::result ${JSON.stringify({ applicationId: appId })}`);
// not process.exit(): it would cut what stdout has not yet written to the agent
process.exitCode = code ?? (signal ? 128 + 15 : 1);
