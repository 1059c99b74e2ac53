// @ts-check
// The node's part in a Spark standalone cluster: the Master on the MASTER node, one Worker per
// CORE/TASK node, sized from the instance type. Each daemon runs in the node's sandbox (the
// worker's executors with it) and dies with the node; Spark's own directories (logs, work, local
// dirs, ivy under HOME) are in the node's directory. With the object path mapping on, a worker's
// sandbox sees the whole buckets directory, writable: its executors read and write whatever the
// driver's app names. Every node also has s3a set up against the control plane's S3 endpoint with
// the cluster's own credential, so `s3://` and `s3a://` URIs work from any node without that
// directory (OBJECT_PATH_MAPPING=off binds none of it).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { BootstrapFailure } from './bootstrap.js';

/** @typedef {NonNullable<import('../types.js').NodeConfig['spark']>} SparkConfig */
/** @typedef {import('../types.js').NodeS3} NodeS3 */
/** @typedef {import('../types.js').NodeEndpoints} NodeEndpoints */

/** An address as the host part of a URL (an IPv6 address in brackets). @param {string} address */
export const urlHost = (address) => (address.includes(':') ? `[${address}]` : address);
/** in every node's spark-defaults.conf (see writeConf) */
/** @param {Record<string, string>} conf */
const confLines = (conf) =>
  Object.entries(conf)
    .map(([k, v]) => `${k} ${v}\n`)
    .join('');
// nodes share the host but not their directories: no executor may read another's shuffle files
// from disk, and what executors of other nodes' uids write stays writable by the driver that commits it
const NODE_SPARK_DEFAULTS = {
  'spark.shuffle.readHostLocalDisk': 'false',
  'spark.hadoop.fs.permissions.umask-mode': '002',
};
/**
 * s3a against the control plane's S3 endpoint with the cluster's credential: path-style over plain
 * HTTP, the keys given (no lookups of the host's AWS configuration or instance metadata), for both
 * `s3://` and `s3a://` (Hadoop configures an S3AFileSystem from fs.s3a.* whatever the scheme).
 * Writes commit with Hadoop's FileOutputCommitter, algorithm 1 (Spark's default; s3a's own
 * committers need spark-hadoop-cloud, which pyspark does not ship): task and job commits are
 * renames, which s3a does as CopyObject + DeleteObjects, and our CopyObject is a copy on the
 * server's disk, not a transfer through the node. Algorithm 1 rather than 2: a job that fails
 * leaves no part files in the output (only _temporary), as on HDFS. The secret is redacted from
 * Spark's UI and event logs by spark.redaction.regex (it matches "secret").
 * @param {NodeS3} s3 @returns {Record<string, string>}
 */
function s3aConf(s3) {
  return {
    'spark.hadoop.fs.s3.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
    'spark.hadoop.fs.s3a.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
    'spark.hadoop.fs.s3a.endpoint': s3.endpoint,
    'spark.hadoop.fs.s3a.endpoint.region': s3.region,
    'spark.hadoop.fs.s3a.path.style.access': 'true',
    'spark.hadoop.fs.s3a.connection.ssl.enabled': String(s3.endpoint.startsWith('https:')),
    'spark.hadoop.fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
    'spark.hadoop.fs.s3a.access.key': s3.accessKeyId,
    'spark.hadoop.fs.s3a.secret.key': s3.secretAccessKey,
    // the bucket is not probed when the file system starts (its first use says whether it exists)
    'spark.hadoop.fs.s3a.bucket.probe': '0',
    'spark.hadoop.fs.s3a.committer.name': 'file',
    'spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version': '1',
  };
}

/** A `file:` location's local path (null for s3a:// and others). @param {string} location */
const localPathOf = (location) => (location.startsWith('file:') ? location.slice('file:'.length) : null);

const START_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
const DRAIN_POLL_MS = 500;
// ports are picked free, then bound by the JVM a moment later: a clash must fail (not move to
// port+1, where we would not look) so that start() can pick new ones
const PORT_ATTEMPTS = 3;
const NO_PORT_RETRY = '-Dspark.port.maxRetries=0';
// the daemons are small control processes: C1 only, serial GC and a small heap start them in a
// fraction of the CPU time a default JVM takes on a small node
const DAEMON_JAVA_OPTS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto';
const DAEMON_MEMORY = '256m';
// spark-class's launcher (a JVM that only prints the command of the real one, before every daemon
// and spark-submit) is one too: about half the CPU time of a default JVM. Read once, at the agent's
// start: the agent puts the steps' environment into its own (node-agent.js)
const LAUNCHER_JAVA_OPTS = `${DAEMON_JAVA_OPTS} ${process.env.SPARK_LAUNCHER_OPTS ?? ''}`.trim();

/**
 * A TCP port free on `address` right now (Spark binds it a moment later).
 * @param {string} address @returns {Promise<number>}
 */
export function freePort(address) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * GET a JSON document, or null when it cannot be had (not up yet, gone, not JSON).
 * @param {string} url @param {number} [timeoutMs] @param {http.Agent | false} [agent] a keep-alive
 *   agent for a caller that polls (one connection instead of one per request)
 * @returns {Promise<any>}
 */
export function getJson(url, timeoutMs = 2_000, agent = false) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Whether a GET of `url` answers 200 (false when it cannot be had).
 * @param {string} url @returns {Promise<boolean>}
 */
function answers(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The master's /json/ status (workers, cores, apps) or null. @param {string} masterWebUrl */
export const masterStatus = (masterWebUrl) => getJson(`${masterWebUrl}/json/`);

/** @param {string} file @param {number} n */
function lastLines(file, n = 20) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-n);
  } catch {
    return [];
  }
}

/** Whether a daemon's start failed because a port was taken. @param {string} file */
function portClash(file) {
  return lastLines(file, 200).some((l) => /BindException|Address already in use|Failed to bind/.test(l));
}

export class SparkNode {
  /**
   * @param {SparkConfig} spark
   * @param {{ role: string, vcpu: number, memoryMb: number, workdir: string, s3: NodeS3 | null,
   *   sandbox: import('./node-sandbox.js').NodeSandbox,
   *   log: (msg: string, fields?: Record<string, unknown>) => void,
   *   onDaemonExit: (what: string, code: number | null, signal: string | null) => void }} node
   */
  constructor(spark, node) {
    this.spark = spark;
    this.node = node;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.daemon = null;
    this.daemonName = '';
    this.stopping = false;
    // until then a daemon's end is a start-up failure (reported by until()), not a node failure
    this.started = false;
    /** @type {NodeEndpoints} */
    this.endpoints = {};
    this.masterWebUrl = spark.masterWebUrl;
    this.masterUrl = spark.masterUrl;
    /** where the node's daemons, drivers and UIs listen, and what they advertise */
    this.address = spark.address;
    this.workerWebPort = 0;
    this.logFile = '';
    /** the History Server of the MASTER node (when the catalog's event logs are on) @type {import('node:child_process').ChildProcess | null} */
    this.history = null;
    /** its start (its URL once up), begun with the Master's @type {Promise<string> | null} */
    this.historyStart = null;
    /** the Spark configuration every process of the node reads (SPARK_CONF_DIR) */
    this.confDir = this.writeConf(spark.catalog ?? null, node.s3);
  }

  /**
   * The node's spark-defaults.conf, with hive-site.xml for the catalog: in the agent's directory
   * (not the node's, where tenant code could have put a link), bound read-only into the node's
   * sandboxes, so that every driver started on the node reads them (a SPARK step's, or a
   * `spark-submit` of a command step). The metastore role's password is in hive-site.xml, readable
   * by the node's uid alone, and so is the cluster's S3 credential in spark-defaults.conf (any
   * step of the cluster may use it, as any process on an EMR node may use its instance profile).
   * @param {SparkConfig['catalog'] | null} catalog @param {NodeS3 | null} s3
   */
  writeConf(catalog, s3) {
    const dir = path.join(path.dirname(this.node.sandbox.nodeDir), 'spark-conf');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const jars = this.spark.s3aJars ?? [];
    /** @type {Record<string, string>} */
    const base = {
      ...NODE_SPARK_DEFAULTS,
      // a driver's own default is the canonical name of SPARK_LOCAL_IP, which other hosts may not
      // resolve: executors dial the address itself
      'spark.driver.host': this.address,
      'spark.driver.bindAddress': this.address,
      ...(s3 ? s3aConf(s3) : {}),
      ...(jars.length ? { 'spark.executor.extraClassPath': jars.join(':') } : {}),
    };
    const driverClassPath = [...jars, ...(catalog ? [catalog.jdbcJar] : [])];
    if (driverClassPath.length) base['spark.driver.extraClassPath'] = driverClassPath.join(':');
    if (!catalog) return this.writeConfFiles(dir, { 'spark-defaults.conf': confLines(base) });
    /** @param {string} value */
    const xml = (value) => value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const hive = {
      'javax.jdo.option.ConnectionURL': catalog.jdbcUrl,
      'javax.jdo.option.ConnectionDriverName': 'org.postgresql.Driver',
      'javax.jdo.option.ConnectionUserName': catalog.user,
      'javax.jdo.option.ConnectionPassword': catalog.password,
      // Hive 2.3.9's client makes its tables on first use (no schema tool ships with pyspark). Not
      // autoCreateAll: its foreign keys are added (ALTER TABLE, on another connection) while the
      // transaction that needed the new table holds TBLS, and the two wait on each other forever
      'datanucleus.schema.autoCreateTables': 'true',
      'datanucleus.schema.autoCreateColumns': 'true',
      'datanucleus.schema.autoCreateConstraints': 'false',
      'hive.metastore.schema.verification': 'false',
      'hive.metastore.warehouse.dir': catalog.warehouse,
    };
    const defaults = {
      ...base,
      'spark.sql.catalogImplementation': 'hive',
      // CREATE TABLE without USING makes a Parquet table (Spark's data source default), which SQL steps read
      'spark.sql.legacy.createHiveTableByDefault': 'false',
      'spark.sql.warehouse.dir': catalog.warehouse,
      'spark.eventLog.enabled': 'true',
      'spark.eventLog.dir': catalog.eventLog,
      'spark.history.fs.logDirectory': catalog.eventLog,
    };
    return this.writeConfFiles(dir, {
      'hive-site.xml': `<?xml version="1.0"?>\n<configuration>\n${Object.entries(hive)
        .map(([k, v]) => `  <property><name>${k}</name><value>${xml(v)}</value></property>\n`)
        .join('')}</configuration>\n`,
      'spark-defaults.conf': confLines(defaults),
    });
  }

  /** @param {string} dir @param {Record<string, string>} files */
  writeConfFiles(dir, files) {
    const { uid, gid } = this.node.sandbox;
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      chmodSync(file, 0o600);
      if (uid !== null && gid !== null) chownSync(file, uid, gid);
    }
    return dir;
  }

  /**
   * What every sandbox of the node sees besides its own directory: the configuration and s3a's
   * jars (read-only), and with the catalog on local paths the warehouse and event log directories
   * (writable: drivers write tables and their logs; over s3a they need no mount).
   * @returns {import('./node-sandbox.js').Mount[]}
   */
  sparkMounts() {
    const { catalog } = this.spark;
    /** @type {import('./node-sandbox.js').Mount[]} */
    const mounts = [{ type: 'ro-bind', source: this.confDir, target: this.confDir }];
    for (const jar of this.spark.s3aJars ?? []) mounts.push({ type: 'ro-bind', source: jar, target: jar });
    for (const location of catalog ? [catalog.warehouse, catalog.eventLog] : []) {
      const dir = localPathOf(location);
      if (dir) mounts.push({ type: 'bind', source: dir, target: dir });
    }
    return mounts;
  }

  get isMaster() {
    return this.node.role === 'MASTER';
  }

  /** What steps on this node need to reach the cluster's Spark. @returns {Record<string, string>} */
  stepEnv() {
    /** @type {Record<string, string>} */
    const env = {
      SPARK_HOME: this.spark.home,
      PYSPARK_PYTHON: this.spark.python,
      SPARK_CONF_DIR: this.confDir,
      // every Spark process of the node (daemons, drivers, their UIs) binds and advertises its host's
      // address, so that executors on other hosts reach a driver whatever the hostname resolves to
      SPARK_LOCAL_IP: this.address,
      // and the URLs of their web UIs name it (not the machine's hostname)
      SPARK_PUBLIC_DNS: this.address,
      SPARK_LAUNCHER_OPTS: LAUNCHER_JAVA_OPTS,
    };
    if (this.masterUrl) env.SPARK_MASTER_URL = this.masterUrl;
    if (this.masterWebUrl) env.SPARK_MASTER_WEB_URL = this.masterWebUrl;
    return env;
  }

  /** Starts the node's daemon and resolves once Spark counts it in. @returns {Promise<NodeEndpoints>} */
  async start() {
    // without the path mapping s3a is the only way to objects: no jars, no Spark that can read them
    if (!this.spark.bucketsDir && !this.spark.s3aJars?.length) {
      throw new BootstrapFailure('Spark s3a', null, [
        'no hadoop-aws and AWS SDK bundle jars in SPARK_JARS_DIR: run `npm run spark:install`',
      ]);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await (this.isMaster ? this.startMaster() : this.startWorker());
      } catch (err) {
        if (!(err instanceof BootstrapFailure) || attempt >= PORT_ATTEMPTS || !portClash(this.logFile)) throw err;
        this.node.log('spark daemon port taken meanwhile: retrying with new ports', { attempt });
      }
    }
  }

  /**
   * @param {string} name @param {string} mainClass @param {string[]} args @param {Record<string, string>} extraEnv
   * @param {'daemon' | 'history'} slot which of the node's daemons it is (the History Server's end does not fail the node)
   * @returns {string} the daemon's log file
   */
  spawnDaemon(name, mainClass, args, extraEnv, slot = 'daemon') {
    const logFile = path.join(this.node.workdir, `${name}.log`);
    if (slot === 'daemon') this.logFile = logFile;
    const fd = openSync(logFile, 'w');
    const { sandbox } = this.node;
    const own = path.join(sandbox.nodeDir, 'spark');
    try {
      const run = sandbox.command([path.join(this.spark.home, 'bin', 'spark-class'), mainClass, ...args], {
        cwd: own,
        mounts:
          this.isMaster || !this.spark.bucketsDir
            ? this.sparkMounts()
            : [{ type: 'bind', source: this.spark.bucketsDir, target: this.spark.bucketsDir }, ...this.sparkMounts()],
      });
      const child = spawn(run.file, run.args, {
        cwd: run.cwd,
        env: sandbox.env({
          ...process.env,
          ...this.stepEnv(),
          SPARK_LOG_DIR: own,
          SPARK_LOCAL_DIRS: path.join(own, 'local'),
          SPARK_NO_DAEMONIZE: '1',
          SPARK_DAEMON_JAVA_OPTS: `${DAEMON_JAVA_OPTS} ${process.env.SPARK_DAEMON_JAVA_OPTS ?? ''}`.trim(),
          SPARK_DAEMON_MEMORY: process.env.SPARK_DAEMON_MEMORY || DAEMON_MEMORY,
          // s3a for the daemon that reads a bucket itself (the History Server, event logs over s3a)
          SPARK_DAEMON_CLASSPATH: (this.spark.s3aJars ?? []).join(':'),
          ...extraEnv,
        }),
        stdio: ['ignore', fd, fd],
      });
      this[slot] = child;
      if (slot === 'daemon') this.daemonName = name;
      child.once('error', (err) => {
        this.node.log('spark daemon could not start', { name, error: err.message });
        if (this[slot] === child) this[slot] = null;
      });
      child.once('exit', (code, signal) => {
        if (this[slot] === child) this[slot] = null;
        if (this.stopping) return;
        if (slot === 'history') this.node.log('spark history server exited', { code, signal });
        else if (this.started) this.node.onDaemonExit(name, code, signal);
      });
    } finally {
      closeSync(fd);
    }
    return logFile;
  }

  /**
   * Polls `check` until it returns a value; fails like a bootstrap action when the daemon ends or
   * the time is up.
   * @template T @param {string} what @param {string} logFile @param {() => Promise<T | null>} check
   * @returns {Promise<T>}
   */
  async until(what, logFile, check) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const daemon = this.daemon;
      if (daemon === null || daemon.exitCode !== null || daemon.signalCode !== null) {
        throw new BootstrapFailure(what, daemon?.exitCode ?? null, lastLines(logFile));
      }
      const value = await check();
      if (value !== null && value !== undefined) return value;
      if (Date.now() > deadline) {
        throw new BootstrapFailure(what, null, [...lastLines(logFile), `not up after ${START_TIMEOUT_MS / 1000} s`]);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async startMaster() {
    const [port, webPort] = [await freePort(this.address), await freePort(this.address)];
    const logFile = this.spawnDaemon(
      'spark-master',
      'org.apache.spark.deploy.master.Master',
      ['--host', this.address, '--port', String(port), '--webui-port', String(webPort)],
      { SPARK_MASTER_OPTS: `${NO_PORT_RETRY} ${process.env.SPARK_MASTER_OPTS ?? ''}`.trim() },
    );
    // the History Server starts beside the Master, not after it (a JVM's start takes seconds on a
    // small node); once, whatever attempt of the Master's succeeds
    const { catalog } = this.spark;
    if (catalog && !this.historyStart) {
      this.historyStart = this.startHistory(catalog.eventLog);
      // awaited below; a Master failing first must not leave it unhandled
      this.historyStart.catch(() => {});
    }
    const webUrl = `http://${urlHost(this.address)}:${webPort}`;
    const expected = `spark://${urlHost(this.address)}:${port}`;
    // only our master answers with our URL (another cluster's could hold the web port)
    const status = await this.until('Spark master', logFile, async () => {
      const s = await masterStatus(webUrl);
      return s && s.status === 'ALIVE' && s.url === expected ? s : null;
    });
    this.masterUrl = String(status.url);
    this.masterWebUrl = webUrl;
    this.endpoints = { sparkMasterUrl: this.masterUrl, sparkMasterWebUrl: webUrl };
    if (this.historyStart) this.endpoints.sparkHistoryUrl = await this.historyStart;
    this.started = true;
    this.node.log('spark master up', { ...this.endpoints });
    return this.endpoints;
  }

  /**
   * The cluster's Spark History Server, serving the apps of the event log directory (every app of
   * the install, finished ones included) at /history/<app id> and /api/v1/applications.
   * @param {string} eventLog where the event logs are (file:… or s3a://…) @returns {Promise<string>} its URL
   */
  async startHistory(eventLog) {
    const port = await freePort(this.address);
    const logFile = this.spawnDaemon(
      'spark-history',
      'org.apache.spark.deploy.history.HistoryServer',
      [],
      {
        // new logs are seen within a second of an app's end (Spark's default: 10 s)
        SPARK_HISTORY_OPTS:
          `${NO_PORT_RETRY} -Dspark.history.ui.port=${port} -Dspark.history.fs.logDirectory=${eventLog} ` +
          `-Dspark.history.fs.update.interval=1s ${process.env.SPARK_HISTORY_OPTS ?? ''}`.trim(),
      },
      'history',
    );
    const url = `http://${urlHost(this.address)}:${port}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      // up once its page answers: not its REST API, whose first request starts Jersey (seconds of
      // CPU, on the way to the cluster's start: the workers wait for the master's node to be up)
      if (await answers(`${url}/`)) return url;
      const history = this.history;
      if (history === null || history.exitCode !== null || history.signalCode !== null || Date.now() > deadline) {
        throw new BootstrapFailure('Spark history server', history?.exitCode ?? null, lastLines(logFile));
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async startWorker() {
    if (!this.masterUrl || !this.masterWebUrl)
      throw new BootstrapFailure('Spark worker', null, ['no Spark master URL in the node configuration']);
    const masterWebUrl = this.masterWebUrl;
    this.workerWebPort = await freePort(this.address);
    // made by spark-class's Worker itself, as the node's uid
    const workDir = path.join(this.node.sandbox.nodeDir, 'spark', 'work');
    const logFile = this.spawnDaemon(
      'spark-worker',
      'org.apache.spark.deploy.worker.Worker',
      [
        '--host',
        this.address,
        '--cores',
        String(this.node.vcpu),
        '--memory',
        `${this.node.memoryMb}m`,
        '--webui-port',
        String(this.workerWebPort),
        '--work-dir',
        workDir,
        this.masterUrl,
      ],
      {
        // SIGPWR then decommissions the worker (graceful shrink)
        SPARK_WORKER_OPTS: `-Dspark.decommission.enabled=true ${NO_PORT_RETRY} ${process.env.SPARK_WORKER_OPTS ?? ''}`.trim(),
      },
    );
    // RUNNING means the master counts this worker ALIVE
    await this.until('Spark worker', logFile, async () => ((await this.myWorker(masterWebUrl))?.state === 'ALIVE' ? true : null));
    this.endpoints = { sparkWorkerWebUrl: this.workerWebUrl };
    this.started = true;
    this.node.log('spark worker registered', { ...this.endpoints });
    return this.endpoints;
  }

  /** The worker's web UI (what the master lists it by). */
  get workerWebUrl() {
    return `http://${urlHost(this.address)}:${this.workerWebPort}`;
  }

  /** This node's worker as the master lists it (matched by its web UI's address and port). @param {string} masterWebUrl */
  async myWorker(masterWebUrl) {
    const status = await masterStatus(masterWebUrl);
    /** @type {any[]} */
    const workers = status?.workers ?? [];
    // a restarted worker re-registers under a new id: the newest entry is the current one
    return workers.filter((w) => w.webuiaddress === this.workerWebUrl).at(-1) ?? null;
  }

  /**
   * Graceful removal of a worker: SIGPWR makes Spark decommission it (no new executors; running
   * ones are decommissioned by their drivers and leave when their tasks are done). Resolves when
   * no executor is left on it, or after the decommission timeout.
   */
  async decommission() {
    const worker = this.daemon;
    if (this.isMaster || !worker?.pid) return;
    this.node.log('decommissioning spark worker', { timeoutMs: this.spark.decommissionTimeoutMs });
    // the Worker's JVM alone (its executors hear of it from their driver)
    const main = this.node.sandbox.mainPid(worker.pid);
    if (main === null) return;
    try {
      process.kill(main, 'SIGPWR');
    } catch {
      return;
    }
    const deadline = Date.now() + this.spark.decommissionTimeoutMs;
    const self = `${this.workerWebUrl}/json/`;
    while (Date.now() < deadline && this.daemon === worker) {
      const state = await getJson(self);
      if (state && Array.isArray(state.executors) && state.executors.length === 0) {
        this.node.log('spark worker drained');
        return;
      }
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
    this.node.log('decommission timeout reached: stopping the worker with what still runs on it');
  }

  /** TERM the daemon, KILL after graceMs. @param {number} graceMs */
  async stop(graceMs) {
    this.stopping = true;
    await Promise.all([this.stopOne(this.daemon, graceMs), this.stopOne(this.history, graceMs)]);
  }

  /** @param {import('node:child_process').ChildProcess | null} child @param {number} graceMs */
  async stopOne(child, graceMs) {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    const pid = /** @type {number} */ (child.pid);
    this.node.sandbox.signal(pid, 'SIGTERM');
    const timer = setTimeout(() => this.node.sandbox.signal(pid, 'SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** For a crashing agent: no waiting. */
  killNow() {
    this.stopping = true;
    for (const child of [this.daemon, this.history]) if (child?.pid) this.node.sandbox.signal(child.pid, 'SIGKILL');
  }
}
