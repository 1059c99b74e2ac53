// @ts-check
// Runs one SPARK step on the master node: spark-submit in client mode against the cluster's Spark
// master (SPARK_MASTER_URL, set by the node agent), with the driver's UI on a free port. Progress
// comes from the driver's own status API (completed / total tasks of the application's jobs) as
// `::progress` lines; driver output streams through; the exit code is spark-submit's.
//
//   node spark-step.js [--conf key=value]… <app.py|app.jar> [app args…]
//
// Dependency-free like the agent, so it ships with it.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { freePort, getJson } from './spark.js';

const POLL_MS = 250;
// Spark moves the UI to the next port (up to spark.port.maxRetries, 16) when the picked one was
// taken in between; the driver that answers must carry our token to be ours
const UI_PORT_RETRIES = 16;
// (not named …token: Spark's status API redacts such values)
const TOKEN_KEY = 'spark.emberplane.runnerId';

/** @param {string} text */
function fail(text) {
  process.stderr.write(`spark-step: ${text}\n`);
  process.exit(2);
}

const { SPARK_HOME: home, SPARK_MASTER_URL: master } = process.env;
if (!home) fail('SPARK_HOME is not set: this node is not part of a SPARK cluster');
if (!master) fail('SPARK_MASTER_URL is not set: this node is not part of a SPARK cluster');
const userArgs = process.argv.slice(2);
if (userArgs.length === 0) fail('usage: spark-step.js [--conf key=value]… <app> [args…]');

const uiPort = await freePort();
const token = randomUUID();
/** the status API of our driver, once found @type {string | null} */
let ui = null;
const child = spawn(path.join(/** @type {string} */ (home), 'bin', 'spark-submit'), [
  '--master', /** @type {string} */ (master),
  '--deploy-mode', 'client',
  '--conf', `spark.ui.port=${uiPort}`,
  '--conf', `${TOKEN_KEY}=${token}`,
  // the console progress bar is for terminals; progress travels as ::progress instead
  '--conf', 'spark.ui.showConsoleProgress=false',
  // executors on a worker being decommissioned (shrink) finish their tasks and hand over
  '--conf', 'spark.decommission.enabled=true',
  // the node's spark-defaults.conf (SPARK_CONF_DIR) has what every driver of a node needs
  ...userArgs,
], {
  stdio: ['ignore', 'inherit', 'inherit'],
});

// cancellation: the agent signals the whole group; pass TERM on and wait for spark-submit's end
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => child.kill('SIGINT'));

/** @type {string | null} */
let appId = null;
let lastProgress = -1;
let done = false;

/** Looks for our driver's UI at the picked port and the ones Spark would move to. */
async function findDriver() {
  for (let port = uiPort; port <= uiPort + UI_PORT_RETRIES && port <= 65_535; port++) {
    const base = `http://127.0.0.1:${port}/api/v1`;
    const apps = await getJson(`${base}/applications`, 1_000);
    if (!Array.isArray(apps) || !apps[0]?.id) continue;
    const id = String(apps[0].id);
    const env = await getJson(`${base}/applications/${id}/environment`, 1_000);
    /** @type {unknown[]} */
    const props = Array.isArray(env?.sparkProperties) ? env.sparkProperties : [];
    if (props.some((p) => Array.isArray(p) && p[0] === TOKEN_KEY && p[1] === token)) {
      ui = base;
      appId = id;
      // the live driver UI, while the app runs (Step.spark.uiUrl)
      process.stdout.write(`::result ${JSON.stringify({ applicationId: appId, uiUrl: `http://127.0.0.1:${port}` })}\n`);
      return;
    }
  }
}

async function poll() {
  while (!done) {
    if (!appId) await findDriver();
    if (appId && ui) {
      const jobs = await getJson(`${ui}/applications/${appId}/jobs`, 1_000);
      if (Array.isArray(jobs) && jobs.length > 0 && !done) {
        let total = 0;
        let completed = 0;
        for (const j of jobs) {
          total += Number(j.numTasks) || 0;
          completed += Number(j.numCompletedTasks) || 0;
        }
        // jobs appear one by one, so the fraction can fall: report the highest seen, and 1 only
        // once spark-submit has ended well
        const progress = Math.max(lastProgress, total > 0 ? Math.min(0.9999, completed / total) : 0);
        if (progress !== lastProgress) {
          lastProgress = progress;
          process.stdout.write(`::progress ${progress.toFixed(4)}\n`);
        }
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const polling = poll();
const [code, signal] = await new Promise((resolve) => {
  child.once('error', (err) => {
    process.stderr.write(`spark-step: cannot run spark-submit: ${err.message}\n`);
    resolve([127, null]);
  });
  child.once('exit', (c, s) => resolve([c, s]));
});
done = true;
await polling;
if (code === 0) process.stdout.write('::progress 1\n');
if (appId) process.stdout.write(`::result ${JSON.stringify({ applicationId: appId })}\n`);
process.exit(code ?? (signal ? 128 + 15 : 1));
