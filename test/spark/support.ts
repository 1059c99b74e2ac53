// Shared by the Spark tests: whether Spark runs here (skip with a clear message, but fail under
// CI), small instance groups for a 2-core machine, and GraphQL documents.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectSpark, PYSPARK_INSTALL } from '../../src/engine/spark-runtime.js';
import type { DataApi } from '../support/api.js';

// as the server finds it: started as root, its nodes (sandboxed as their own uids) need a Spark every user can read
const spark = detectSpark({
  python: process.env.PYTHON,
  sparkHome: process.env.SPARK_HOME,
  javaHome: process.env.JAVA_HOME,
  forOthers: process.getuid?.() === 0 && process.env.SANDBOX !== 'off',
});
if (!spark.available) {
  if (process.env.CI === 'true') throw new Error(`Spark is required under CI=true: ${spark.reason}`);
  console.warn(`Skipping the Spark tests: ${spark.reason} (install: ${PYSPARK_INSTALL})`);
}

/** false skips a describe block (see the warning above) */
export const sparkAvailable = spark.available;
/** the Spark the server's nodes use (for drivers a test starts itself) */
export const sparkRuntime = spark;

// the smallest type: each worker offers 2 cores and 2 GiB to Spark
export const SMALL = 't3.small';
export const SPARK_MASTER = { role: 'MASTER', instanceType: SMALL, count: 1 };
export const SPARK_CORE = (count: number) => ({ role: 'CORE', instanceType: SMALL, count });

export const SPARK_CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message }
  spark { masterUrl masterWebUrl status aliveWorkers coresTotal workers { id state cores webUrl } }
  instanceGroups { id role requestedCount state }
  instances { id role state pid stateChangeReason { code message } endpoints { sparkMasterUrl sparkMasterWebUrl sparkWorkerWebUrl } } } }`;

// the tests' jobs are tiny: their drivers and executors start faster with C1 only and the serial GC
export const LEAN_JVM = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
export const TEST_JOB_CONF = {
  'spark.executor.memory': '512m',
  'spark.driver.extraJavaOptions': LEAN_JVM,
  'spark.executor.extraJavaOptions': LEAN_JVM,
};
/** the same as spark-submit arguments */
export const TEST_JOB_ARGS = Object.entries(TEST_JOB_CONF).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);

export { putObject } from '../support/put-object.js';

const CORPUS_WORDS = ['spark', 'ember', 'plane', 'node', 'worker', 'master', 'bucket', 'step'];

/** A text of `lines` lines and the word counts it should give. */
export function wordCorpus(lines: number): { text: string; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const line = Array.from({ length: 1 + (i % 7) }, (_, j) => CORPUS_WORDS[(i * 3 + j * 5) % CORPUS_WORDS.length]!);
    for (const w of line) counts.set(w, (counts.get(w) ?? 0) + 1);
    out.push(line.join(' '));
  }
  return { text: `${out.join('\n')}\n`, counts };
}

/**
 * A gate Spark tasks wait on over HTTP (200 once open): executors run sandboxed on other nodes and
 * see none of the test's files, but they share the host's network (loopback), or reach the test at
 * `host` (a bridge address, for nodes on other machines).
 */
export async function httpGate(host = '127.0.0.1'): Promise<{ url: string; open(): void; close(): Promise<void> }> {
  let isOpen = false;
  const server = http.createServer((_req, res) => {
    res.writeHead(isOpen ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/gate`,
    open: () => {
      isOpen = true;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Python: `hold(_)` waits until the gate named by the GATE environment variable (a URL) opens. */
export const HOLD_UNTIL_GATE = `
import os, time, urllib.request
gate = os.environ["GATE"]
def gate_open():
    try:
        return urllib.request.urlopen(gate, timeout=5).status == 200
    except Exception:
        return False
def hold(_):
    while not gate_open():
        time.sleep(0.2)
    return 1
`;

const OPEN_STEPS = `query($id: ID!) { cluster(id: $id) { steps(first: 100) { edges { node { id state } } } } }`;
const CANCEL_STEPS = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { status } } }`;

/**
 * For the afterEach of tests sharing a cluster: cancels the steps a test left pending or running
 * (it failed before they ended), so that the next test's steps do not queue behind them.
 */
export async function cancelOpenSteps(server: DataApi, clusterId: string): Promise<void> {
  const { cluster } = await server.data(OPEN_STEPS, { id: clusterId });
  const open = cluster.steps.edges.map((e: any) => e.node).filter((s: any) => s.state === 'PENDING' || s.state === 'RUNNING');
  if (open.length) await server.data(CANCEL_STEPS, { input: { clusterId, stepIds: open.map((s: any) => s.id) } });
}
