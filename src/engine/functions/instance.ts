// One function instance: an OS process (its own process group; confined, the outer process of its
// sandbox) running a bootstrap against its own Runtime API endpoint, one invocation at a time. The
// instance enforces the function's timeout and memory size, frames every invocation's log with
// Lambda's START / END / REPORT lines and reports what happened as an InvokeOutcome.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_RESPONSE_BYTES, RuntimeApiServer, type NextEvent, type StreamedError } from './runtime-api.js';
import { MAX_STREAMED_RESPONSE_BYTES } from './runtime-api-stream.js';
import { newTraceId, PlatformLog, traceHeader } from './platform-log.js';
import { InstanceOutput, MAX_LINE } from './output.js';
import type { LimitGroup } from '../sandbox/limits.js';
import { searchPaths, type InstanceDirs, type Sandbox } from './sandbox.js';
import type { Spare } from './spares.js';
import type { InstanceSpec, InvokeOutcome, InvokeRequest, LineSink, OutcomeKind, RuntimeLogLine } from './types.js';

/** Refuses every connection to the Runtime API until the instance knows its uid (see start()). */
const NO_UID_YET = -1;
/** Lambda's init phase limit for on-demand instances. */
const INIT_LIMIT_MS = 10_000;
const MEMORY_POLL_MS = 50;
const INSTANCE_NICE = 5;

const EXECUTION_ENV: Record<string, string> = {
  NODEJS20: 'AWS_Lambda_nodejs20.x',
  PYTHON311: 'AWS_Lambda_python3.11',
  PROVIDED: 'AWS_Lambda_provided.al2023',
};

interface Current {
  request: InvokeRequest;
  resolve: (o: InvokeOutcome) => void;
  reject: (err: Error) => void;
  coldStart: boolean;
  startedAt: Date;
  startedHr: number;
  deadlineMs: number;
  logs: RuntimeLogLine[];
  /** the Lambda-Runtime-Trace-Id header the runtime gets */
  traceHeader: string;
  delivered: boolean;
  done: boolean;
  /** a streamed response under way: its Content-Type, and its bytes when the request has no sink */
  stream: { contentType: string; kept: Buffer[]; keptBytes: number } | null;
}

const statusBuf = Buffer.alloc(8192);

/** The kernel's page size in KiB (statm counts pages), as the first mapping of this process has it. */
const PAGE_KB = (() => {
  try {
    const fd = fs.openSync('/proc/self/smaps', 'r');
    try {
      const n = fs.readSync(fd, statusBuf, 0, statusBuf.length, 0);
      return Number(/KernelPageSize:\s+(\d+) kB/.exec(statusBuf.toString('latin1', 0, n))?.[1] ?? 4);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 4;
  }
})();

/**
 * The /proc files an instance reads again and again (each process's children list and statm, while
 * it works), kept open: a read at offset 0 regenerates one, without the open and the close around
 * it (the memory samples of busy instances took a twentieth of the server thread at c=64). The
 * file of a process that ended fails to read and is closed; sweep() closes those not read since.
 */
class ProcFiles {
  private readonly open = new Map<string, number>();
  private readonly read = new Set<string>();

  /** The file's text now, or null once its process has ended. */
  text(file: string): string | null {
    let fd = this.open.get(file);
    try {
      if (fd === undefined) {
        fd = fs.openSync(file, 'r');
        this.open.set(file, fd);
      }
      this.read.add(file);
      return statusBuf.toString('latin1', 0, fs.readSync(fd, statusBuf, 0, statusBuf.length, 0));
    } catch {
      if (fd !== undefined) this.forget(file, fd);
      return null;
    }
  }

  /** Closes the files not read since the last sweep (of processes no longer in the tree). */
  sweep(): void {
    for (const [file, fd] of this.open) if (!this.read.has(file)) this.forget(file, fd);
    this.read.clear();
  }

  close(): void {
    for (const [file, fd] of this.open) this.forget(file, fd);
  }

  private forget(file: string, fd: number): void {
    this.open.delete(file);
    fs.close(fd, () => {});
  }
}

/** A process's resident memory (VmRSS), from its statm ("size resident shared …", in pages): a fraction of the cost of status. */
function rssKb(pid: number, files: ProcFiles): number {
  const text = files.text(`/proc/${pid}/statm`);
  if (!text) return 0;
  const from = text.indexOf(' ') + 1;
  return (Number(text.slice(from, text.indexOf(' ', from))) || 0) * PAGE_KB;
}

/**
 * The runtime process's peak RSS (VmHWM), read after every invocation from /proc/<pid>/status
 * kept open: a read at offset 0 regenerates it, at half the cost of open + read + close.
 */
class PeakMemory {
  private fd: number | null = null;

  constructor(private readonly pid: number) {}

  kb(): number {
    try {
      this.fd ??= fs.openSync(`/proc/${this.pid}/status`, 'r');
      const n = fs.readSync(this.fd, statusBuf, 0, statusBuf.length, 0);
      return Number(/VmHWM:\s+(\d+)/.exec(statusBuf.toString('latin1', 0, n))?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  close(): void {
    if (this.fd !== null) fs.close(this.fd, () => {});
    this.fd = null;
  }
}

/** The pid and every descendant (a PROVIDED bootstrap's children count toward its memory). */
function treeOf(pid: number, files: ProcFiles): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    // null: gone meanwhile
    const children = files.text(`/proc/${out[i]}/task/${out[i]}/children`)?.trim();
    if (children) out.push(...children.split(' ').map(Number));
  }
  return out;
}

const fmt = (ms: number) => ms.toFixed(2);

/** The process of a sandbox whose pid inside it is `inner` (the command bwrap's init started is 2). */
function hostPidOf(candidates: number[], inner: number): number | null {
  for (const pid of candidates) {
    try {
      const ns = /NSpid:\s+([\d\s]+)/
        .exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
        ?.trim()
        .split(/\s+/);
      if (ns && Number(ns[ns.length - 1]) === inner && ns.length > 1) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Why a PROVIDED package can't start (no executable bootstrap at its root), or null. */
function entrypointProblem(codeDir: string, shown: string): string | null {
  try {
    const stat = fs.statSync(path.join(codeDir, 'bootstrap'));
    if (!stat.isFile() || (stat.mode & 0o111) === 0) return `spawn ${shown} EACCES`;
    return null;
  } catch {
    return `spawn ${shown} ENOENT`;
  }
}

/** The instance ended before a warm invocation reached it: the invocation did not run and may run elsewhere. */
export class InstanceGoneError extends Error {}

export class FunctionInstance {
  readonly id = crypto.randomBytes(16).toString('hex');
  state: 'INIT' | 'IDLE' | 'BUSY' | 'DEAD' = 'INIT';
  lastUsed = Date.now();
  private proc: ChildProcess | null = null;
  /** in a sandbox (decided at start) */
  private confined = false;
  /** the instance's control group, when it has one */
  private group: LimitGroup | null = null;
  private peak: PeakMemory | null = null;
  private api: RuntimeApiServer;
  private readonly platform: PlatformLog;
  /** known at start: a spare sandbox comes with its own */
  private uid = NO_UID_YET;
  private gid = NO_UID_YET;
  /** the spare sandbox this instance was started in, if any */
  private spare: Spare | null = null;
  /** the runtime's stdout and stderr (files: see output.ts) */
  private output: InstanceOutput | null = null;
  private spawnedHr = 0;
  private initDurationMs: number | null = null;
  private initError: { body: Buffer; errorType: string | null } | null = null;
  private waitingNext: ((e: NextEvent) => void) | null = null;
  private current: Current | null = null;
  /**
   * The instance's two timers, made once and re-armed (refresh()) at each delivery rather than
   * made and cleared per invocation: when one fires it looks at what the instance is doing.
   */
  private memoryTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private initTimer: NodeJS.Timeout | null = null;
  private peakTreeKb = 0;
  private readonly procFiles = new ProcFiles();
  private killedFor: 'TIMEOUT' | 'OUT_OF_MEMORY' | 'STOP' | null = null;
  private exited: Promise<void>;
  private markExited!: () => void;
  private invocations = 0;
  /** kept initialised for provisioned concurrency (never reaped when idle) */
  provisioned = false;
  /** true once the runtime asked for its first invocation; false if it died before */
  readonly ready: Promise<boolean>;
  private markReady!: (ok: boolean) => void;

  constructor(
    readonly spec: InstanceSpec,
    private readonly sandbox: Sandbox,
    private readonly sink: LineSink,
    readonly onDead: (i: FunctionInstance) => void,
  ) {
    this.exited = new Promise((r) => {
      this.markExited = r;
    });
    this.ready = new Promise((r) => {
      this.markReady = r;
    });
    this.platform = new PlatformLog(spec.logging);
    this.api = new RuntimeApiServer(
      {
        next: () => this.next(),
        response: (id, body) => this.finish(id, 'RESPONSE', body, null, null),
        responseTooLarge: (id) =>
          this.finish(
            id,
            'RESPONSE_TOO_LARGE',
            Buffer.from(
              JSON.stringify({
                errorMessage: `Response payload size exceeded maximum allowed payload size (6291556 bytes).`,
                errorType: 'Function.ResponseSizeTooLarge',
              }),
            ),
            'Function.ResponseSizeTooLarge',
            null,
          ),
        error: (id, body, errorType) => this.finish(id, 'FUNCTION_ERROR', body, errorTypeOf(body, errorType), errorType),
        streamStart: (id, contentType) => this.streamStart(id, contentType),
        streamChunk: (id, chunk) => this.streamChunk(id, chunk),
        streamEnd: (id, end) => this.streamEnd(id, end),
        initError: (body, errorType) => {
          this.initError = { body, errorType: errorTypeOf(body, errorType) };
          // the runtime must exit now; one that does not is stopped
          setTimeout(() => this.kill('STOP'), 500).unref();
        },
      },
      sandbox.isolated ? NO_UID_YET : null,
    );
  }

  get logStreamName(): string {
    const d = new Date();
    const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
    return `${day}/[${this.spec.version}]${this.id}`;
  }

  /** Spawns the runtime process; the first invocation is handed to it once it asks for one. */
  async start(dirs: InstanceDirs): Promise<void> {
    const { codeDir } = dirs;
    const runtimeApi = await this.api.listen();
    this.confined = this.sandbox.confine;
    if (!this.confined) this.takeUid(this.sandbox.allocateUid(), this.sandbox.gidOf(this.spec.functionId));
    const paths = await this.sandbox.paths(this.id, this.uid, this.gid, dirs, this.confined);
    const { spec } = this;
    const env: Record<string, string> = {
      // the X-Ray settings are the function's to override, as on Lambda
      ...xrayEnv(spec),
      ...spec.environment,
      ...searchPaths(spec.runtime, spec.environment, paths),
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: paths.tmp,
      HOME: paths.tmp,
      LAMBDA_TASK_ROOT: paths.taskRoot,
      LAMBDA_RUNTIME_DIR: paths.runtimeDir,
      _HANDLER: spec.handler,
      AWS_REGION: 'local',
      AWS_DEFAULT_REGION: 'local',
      AWS_EXECUTION_ENV: EXECUTION_ENV[spec.runtime]!,
      AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: spec.version,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
      AWS_LAMBDA_RUNTIME_API: runtimeApi,
      AWS_LAMBDA_INITIALIZATION_TYPE: this.provisioned ? 'provisioned-concurrency' : 'on-demand',
      ...loggingEnv(spec),
      // honoured by current AWS SDKs (boto3, the AWS SDK for JavaScript v3): S3 clients reach the buckets
      AWS_ENDPOINT_URL_S3: spec.s3.endpointUrl,
      ...(spec.s3.credentials
        ? { AWS_ACCESS_KEY_ID: spec.s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: spec.s3.credentials.secretAccessKey }
        : {}),
    };
    let command: string;
    let args: string[];
    if (spec.runtime === 'NODEJS20') {
      command = this.sandbox.interpreters.node;
      // V8's heap stays under the function's memory (the rest is code, buffers and the runtime)
      const heapMb = Math.max(32, Math.floor(spec.memoryMb * 0.85));
      args = [`--max-old-space-size=${heapMb}`, '--no-warnings', path.join(paths.runtimeDir, 'node-bootstrap.mjs')];
    } else if (spec.runtime === 'PYTHON311') {
      if (!this.sandbox.interpreters.python)
        throw new Error(
          'no python3 interpreter usable by function instances on this host: install one under /usr (apt-get install -y python3)',
        );
      command = this.sandbox.interpreters.python;
      args = ['-u', '-S', '-B', path.join(paths.runtimeDir, path.basename(await this.sandbox.pythonBootstrap(command)))];
    } else {
      command = path.join(paths.taskRoot, 'bootstrap');
      args = [];
      // inside a sandbox the start fails in bwrap, after the spawn: tell it the way spawn would
      const problem = entrypointProblem(codeDir, command);
      if (problem) return this.onExit(null, null, `Couldn't start the runtime: ${problem}`);
    }
    const argv = [command, ...args];
    const codeBytes = this.sandbox.codeSize(codeDir);
    this.spare = this.confined
      ? (this.sandbox.spares?.claim(
          {
            ephemeralStorageMb: spec.ephemeralStorageMb,
            codeBytes,
            // a spare's mounts are made before it knows its function: none has layers
            extraMounts: this.sandbox.commandMounts(command).length > 0 || dirs.optDir !== null,
          },
          this.ready,
        ) ?? null)
      : null;
    // a spare takes only code of a known size (spares.ts)
    if (this.spare) return this.startInSpare(this.spare, codeDir, codeBytes!, env, argv);
    if (this.confined) this.takeUid(this.sandbox.allocateUid(), this.sandbox.gidOf(spec.functionId));
    const launch = await this.sandbox.launch(
      { id: this.id, uid: this.uid, gid: this.gid, ...dirs, memoryMb: spec.memoryMb, ephemeralStorageMb: spec.ephemeralStorageMb },
      this.confined,
      argv,
    );
    this.group = launch.group;
    this.output = new InstanceOutput(this.sandbox.outputDir, this.id);
    const fds = this.output.create();
    this.output.belongsTo(spec.functionId);
    this.spawnedHr = performance.now();
    let proc: ChildProcess;
    try {
      proc = spawn(launch.file, launch.args, {
        cwd: launch.cwd,
        env,
        detached: true,
        stdio: ['ignore', fds.out, fds.err],
        ...(launch.as ?? {}),
      });
    } finally {
      fs.closeSync(fds.out);
      fs.closeSync(fds.err);
    }
    if (proc.pid) this.sandbox.keeper.watch(proc.pid);
    this.follow(proc);
  }

  /**
   * The cold start in a spare sandbox (spares.ts): its uid, gid and group become the instance's,
   * its process is the instance's from now on (the keeper already knows it); the init counts from
   * the claim, so it includes copying the code, the limits and the launcher's exec.
   */
  private async startInSpare(spare: Spare, codeDir: string, codeBytes: number, env: Record<string, string>, argv: string[]): Promise<void> {
    this.takeUid(spare.uid ?? process.getuid!(), spare.gid ?? process.getgid!());
    this.group = spare.group;
    this.output = spare.output;
    this.output.belongsTo(this.spec.functionId);
    this.spawnedHr = performance.now();
    this.follow(spare.proc);
    const limits = this.sandbox.limits
      ? { limits: this.sandbox.limits, spec: this.sandbox.limitsFor(this.spec.memoryMb, this.spec.ephemeralStorageMb) }
      : null;
    try {
      // bwrap sets PWD to the directory it enters; the launcher sets exactly what it is given
      await spare.start(codeDir, codeBytes, limits, { ...env, PWD: '/var/task' }, argv);
    } catch (err) {
      this.startError = `Couldn't start the runtime: ${(err as Error).message}`;
      this.kill('STOP');
    }
  }

  private takeUid(uid: number, gid: number): void {
    this.uid = uid;
    this.gid = gid;
    if (this.sandbox.isolated) this.api.allowedUid = uid;
  }

  /** Watches the spawned process: its exit, its output, the init's time limit and memory. */
  private follow(proc: ChildProcess): void {
    this.proc = proc;
    // confined, the runtime is found once it has started (see next())
    if (proc.pid && !this.confined) this.peak = new PeakMemory(proc.pid);
    proc.on('error', (err) => {
      this.onExit(null, null, `Couldn't start the runtime: ${err.message}`);
    });
    proc.on('exit', (code, signal) => this.onExit(code, signal, this.startError));
    // the runtime writes to its files; a spare's pipes carry what its sandbox says before the runtime runs
    this.output?.follow((lines) => {
      for (const line of lines) this.outputLine(line);
    });
    if (proc.stdout) this.readLines(proc.stdout, 'STDOUT');
    if (proc.stderr) this.readLines(proc.stderr, 'STDERR');
    this.initTimer = setTimeout(() => {
      if (this.state === 'INIT') this.kill('TIMEOUT');
    }, INIT_LIMIT_MS);
    this.memoryTimer = setTimeout(() => this.sampleMemory(), MEMORY_POLL_MS).unref();
  }

  /**
   * Samples the memory every MEMORY_POLL_MS while the runtime works (init, then each invocation
   * from its delivery, which re-arms the timer): an invocation shorter than that costs no sample,
   * and an idle instance can't grow. Each invocation's peak is read at its end anyway (VmHWM).
   */
  private sampleMemory(): void {
    if (this.state !== 'BUSY' && this.state !== 'INIT') return;
    this.checkMemory();
    this.memoryTimer?.refresh();
  }

  /** The invocation delivered a whole timeout ago, if it is still under way (the timer is re-armed at each delivery). */
  private deadlinePassed(): void {
    const cur = this.current;
    if (cur?.delivered && !cur.done) this.kill('TIMEOUT');
  }

  /** The spawned process: the runtime, or (confined) its sandbox's outer process. */
  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** The runtime process itself, as the host sees it (confined: pid 2 of the sandbox, below bwrap's init). */
  private runtimePid(): number | null {
    const pid = this.proc?.pid;
    if (!pid) return null;
    return this.confined ? hostPidOf(treeOf(pid, this.procFiles).slice(2), 2) : pid;
  }

  /** Runs one invocation. The instance must be IDLE (or INIT, for the cold start that made it). */
  invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    const coldStart = this.state === 'INIT' && this.invocations === 0;
    this.invocations++;
    if (this.state === 'IDLE') this.state = 'BUSY';
    return new Promise((resolve, reject) => {
      this.current = {
        request,
        resolve,
        reject,
        coldStart,
        startedAt: new Date(),
        startedHr: 0,
        deadlineMs: 0,
        logs: [],
        traceHeader: traceHeader(request.traceId ?? newTraceId()),
        delivered: false,
        done: false,
        stream: null,
      };
      if (this.state === 'DEAD') return this.failCurrent();
      if (this.waitingNext) this.deliver();
    });
  }

  private next(): Promise<NextEvent> {
    if (this.state === 'INIT') {
      this.initDurationMs = performance.now() - this.spawnedHr;
      clearTimeout(this.initTimer!);
      this.state = this.current ? 'BUSY' : 'IDLE';
      this.markReady(true);
      const runtime = this.runtimePid();
      if (runtime !== null) {
        this.peak ??= new PeakMemory(runtime);
        // once initialised, the instance yields the CPU to the control plane, which answers every
        // instance and must not queue behind them (its init ran at full priority: cold starts count)
        try {
          os.setPriority(runtime, INSTANCE_NICE);
        } catch {
          /* not allowed: same priority */
        }
      }
    }
    return new Promise((resolve) => {
      this.waitingNext = resolve;
      if (this.current && !this.current.delivered) this.deliver();
    });
  }

  private deliver(): void {
    const cur = this.current!;
    const give = this.waitingNext!;
    this.waitingNext = null;
    cur.delivered = true;
    cur.startedAt = new Date();
    cur.startedHr = performance.now();
    cur.deadlineMs = Date.now() + this.spec.timeoutSeconds * 1000;
    this.peakTreeKb = 0;
    this.logSystem(this.platform.start(cur.request.requestId, this.spec.version, cur.traceHeader));
    this.memoryTimer?.refresh();
    if (this.deadlineTimer) this.deadlineTimer.refresh();
    else this.deadlineTimer = setTimeout(() => this.deadlinePassed(), this.spec.timeoutSeconds * 1000).unref();
    give({
      requestId: cur.request.requestId,
      deadlineMs: cur.deadlineMs,
      invokedFunctionArn: cur.request.invokedFunctionArn,
      traceId: cur.traceHeader,
      clientContext: cur.request.clientContext,
      payload: cur.request.payload,
    });
  }

  private finish(requestId: string, kind: OutcomeKind, body: Buffer, errorType: string | null, errorKind: string | null): boolean {
    const cur = this.current;
    if (!cur?.delivered || cur.done || cur.request.requestId !== requestId) return false;
    cur.done = true;
    // what the runtime wrote before it answered is in its output files, which complete() reads now
    this.complete(kind, body, errorType, errorKind);
    return true;
  }

  /** The invocation's response starts streaming (runtime-api-stream.ts). */
  private streamStart(requestId: string, contentType: string): boolean {
    const cur = this.current;
    if (!cur?.delivered || cur.done || cur.stream || cur.request.requestId !== requestId) return false;
    cur.stream = { contentType, kept: [], keptBytes: 0 };
    cur.request.stream?.start(contentType);
    return true;
  }

  /** Bytes of a streamed response: to the request's sink, else kept as the body (up to a buffered response's limit). */
  private streamChunk(requestId: string, chunk: Buffer): void | Promise<void> {
    const cur = this.current;
    if (!cur?.stream || cur.done || cur.request.requestId !== requestId) return;
    if (cur.request.stream) return cur.request.stream.write(chunk);
    cur.stream.keptBytes += chunk.length;
    if (cur.stream.keptBytes <= MAX_RESPONSE_BYTES) cur.stream.kept.push(Buffer.from(chunk));
    else cur.stream.kept = [];
  }

  private streamEnd(requestId: string, end: StreamedError | null | 'TOO_LARGE'): void {
    const cur = this.current;
    if (!cur?.stream) return;
    // without a sink the whole response must fit where a buffered one does
    const limit = cur.request.stream ? MAX_STREAMED_RESPONSE_BYTES : MAX_RESPONSE_BYTES;
    if (end === 'TOO_LARGE' || cur.stream.keptBytes > limit) {
      const doc = {
        errorMessage: `Response payload size exceeded maximum allowed payload size (${limit} bytes).`,
        errorType: 'Function.ResponseSizeTooLarge',
      };
      // cut mid-write, its handler may never come back for the next event: the instance goes
      if (end === 'TOO_LARGE') this.kill('STOP');
      this.finish(requestId, 'RESPONSE_TOO_LARGE', Buffer.from(JSON.stringify(doc)), doc.errorType, null);
    } else if (end) {
      this.finish(requestId, 'FUNCTION_ERROR', end.body, errorTypeOf(end.body, end.errorType), end.errorType);
    } else this.finish(requestId, 'RESPONSE', Buffer.concat(cur.stream.kept), null, null);
  }

  private complete(kind: OutcomeKind, body: Buffer, errorType: string | null, errorKind: string | null): void {
    // what the runtime wrote before it answered is in its files: read now, it is this invocation's
    this.output?.drain();
    const cur = this.current!;
    // a timed-out invocation ran for its whole timeout (the kill and the pipes' drain are the platform's)
    const durationMs = !cur.delivered ? 0 : kind === 'TIMEOUT' ? this.spec.timeoutSeconds * 1000 : performance.now() - cur.startedHr;
    const memoryKb = Math.max(this.peak?.kb() ?? 0, this.peakTreeKb);
    // out of memory is the limit reached, whatever the last sample saw (a dead process can't be read)
    const maxMemoryUsedMb = kind === 'OUT_OF_MEMORY' ? this.spec.memoryMb : Math.min(this.spec.memoryMb, Math.ceil(memoryKb / 1024));
    const init = cur.coldStart ? this.initDurationMs : null;
    const billed = Math.ceil(durationMs + (init ?? 0));
    if (!cur.delivered) this.logSystem(this.platform.start(cur.request.requestId, this.spec.version, cur.traceHeader));
    this.logSystem(
      this.platform.end({
        requestId: cur.request.requestId,
        durationMs,
        billedDurationMs: billed,
        memorySizeMb: this.spec.memoryMb,
        maxMemoryUsedMb,
        initDurationMs: init,
        kind,
        errorType,
        producedBytes: kind === 'RESPONSE' ? body.length : 0,
      }),
    );
    this.current = null;
    this.lastUsed = Date.now();
    // an instance being killed takes no more invocations
    if (this.state === 'BUSY' && this.killedFor === null) this.state = 'IDLE';
    cur.resolve({
      kind,
      body,
      errorType,
      errorKind,
      instanceId: this.id,
      coldStart: cur.coldStart,
      initDurationMs: init,
      durationMs,
      maxMemoryUsedMb,
      startedAt: cur.startedAt,
      endedAt: new Date(),
      logs: cur.logs,
      streamContentType: cur.stream?.contentType ?? null,
    });
  }

  /** The process died (or never started): the invocation it held fails. */
  private failCurrent(): void {
    const cur = this.current;
    if (!cur || cur.done) return;
    cur.done = true;
    if (!cur.delivered && this.initDurationMs !== null) {
      // an initialised instance that ended before it asked for this invocation (its runtime exited
      // after the last one, e.g. on an unhandled rejection): the invocation never ran here
      this.current = null;
      cur.reject(new InstanceGoneError(`instance ${this.id} ended before the invocation reached it (${this.exitText})`));
      return;
    }
    const id = cur.request.requestId;
    const exit = this.exitText;
    let doc: { errorType: string; errorMessage: string };
    let kind: OutcomeKind;
    if (this.killedFor === 'TIMEOUT' && cur.delivered) {
      kind = 'TIMEOUT';
      doc = {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${id} Error: Task timed out after ${fmt(this.spec.timeoutSeconds)} seconds`,
      };
    } else if (this.killedFor === 'TIMEOUT') {
      kind = 'INIT_ERROR';
      doc = {
        errorType: 'Runtime.InitTimeout',
        errorMessage: `RequestId: ${id} Error: Init phase timed out after ${fmt(INIT_LIMIT_MS / 1000)} seconds`,
      };
    } else if (this.killedFor === 'OUT_OF_MEMORY') {
      kind = 'OUT_OF_MEMORY';
      doc = {
        errorType: 'Runtime.OutOfMemory',
        errorMessage: `RequestId: ${id} Error: Runtime exited with error: out of memory (memory size ${this.spec.memoryMb} MB exceeded)`,
      };
    } else if (this.startError) {
      // e.g. a PROVIDED package without an executable bootstrap
      kind = 'INIT_ERROR';
      doc = { errorType: 'Runtime.InvalidEntrypoint', errorMessage: `RequestId: ${id} Error: ${this.startError}` };
    } else if (this.initError) {
      kind = 'INIT_ERROR';
      const posted = parseJson(this.initError.body);
      doc = {
        ...posted,
        errorType: this.initError.errorType ?? 'Runtime.Unknown',
        errorMessage: String(posted.errorMessage ?? ''),
      } as never;
    } else {
      kind = 'EXIT';
      doc = { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${id} Error: Runtime exited with error: ${exit}` };
    }
    // Lambda's platform line for the failure, e.g. "<time> <id> Task timed out after 3.00 seconds"
    if (kind !== 'INIT_ERROR' || this.initError === null)
      this.logSystem(this.platform.failure(id, doc.errorMessage.replace(/^RequestId: \S+ Error: /, '')));
    this.complete(kind, Buffer.from(JSON.stringify(doc)), doc.errorType, null);
  }

  private exitText = 'exit status 0';
  private startError: string | null = null;

  private onExit(code: number | null, signal: NodeJS.Signals | null, startError: string | null): void {
    if (this.state === 'DEAD') return;
    this.startError = startError;
    this.exitText = startError ?? (signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`);
    this.state = 'DEAD';
    const pid = this.proc?.pid;
    if (pid) {
      // what the runtime started goes with it (a bootstrap's children stay in its group)
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* the group is gone */
      }
      this.sandbox.keeper.unwatch(pid);
    }
    this.markReady(false);
    clearTimeout(this.initTimer!);
    clearTimeout(this.memoryTimer ?? undefined);
    clearTimeout(this.deadlineTimer ?? undefined);
    this.api.close();
    this.onDead(this);
    // let the pipes drain so the last lines land in the invocation's log
    const done = () => {
      // a heap out of memory in V8 aborts the process: that is the memory limit, not a crash (its
      // message on stderr may be read after the exit is seen: only now is the whole output in)
      // and so is the kernel's OOM kill in the instance's control group
      this.output?.end();
      if ((this.heapOom || (this.group?.oomKills() ?? 0) > 0) && this.killedFor === null) this.killedFor = 'OUT_OF_MEMORY';
      this.failCurrent();
      this.peak?.close();
      this.procFiles.close();
      void this.release().then(() => this.markExited());
    };
    let open = 2;
    const closed = () => {
      if (--open === 0) done();
    };
    if (!this.proc?.stdout || !this.proc.stderr) {
      done();
      return;
    }
    this.proc.stdout.once('close', closed);
    this.proc.stderr.once('close', closed);
    // a detached grandchild may hold the pipes open: don't wait for it
    setTimeout(() => {
      if (open > 0) {
        open = 0;
        this.proc?.stdout?.destroy();
        this.proc?.stderr?.destroy();
        done();
      }
    }, 200).unref();
  }

  private heapOom = false;

  /** What the instance held on the host: its control group (once empty), an unconfined one's /tmp. */
  private async release(): Promise<void> {
    await this.group?.killAndRemove();
    if (!this.confined && this.proc) await this.sandbox.removeTmp(this.id);
    // a spare's staging dir holds a copy of the code: it goes with the instance (its group went above)
    if (this.spare) await this.spare.release();
  }

  /** Why the instance ended before it was ready (for provisioned concurrency's FAILED status). */
  get failureReason(): string {
    if (this.initError) {
      const doc = parseJson(this.initError.body);
      return `${this.initError.errorType ?? 'Runtime.Unknown'}: ${String(doc.errorMessage ?? '')}`;
    }
    if (this.killedFor === 'TIMEOUT') return `Runtime.InitTimeout: init phase longer than ${INIT_LIMIT_MS / 1000} s`;
    return `Runtime.ExitError: Runtime exited with error: ${this.exitText}`;
  }

  private checkMemory(): void {
    const pid = this.proc?.pid;
    if (!pid || this.state === 'DEAD') return;
    // only while it works: an idle instance can't grow
    if (this.state !== 'BUSY' && this.state !== 'INIT') return;
    // confined, the first two are bwrap's (outside the function's memory)
    const kb = treeOf(pid, this.procFiles)
      .slice(this.confined ? 2 : 0)
      .reduce((sum, p) => sum + rssKb(p, this.procFiles), 0);
    this.procFiles.sweep();
    if (kb > this.peakTreeKb) this.peakTreeKb = kb;
    if (kb > this.spec.memoryMb * 1024) this.kill('OUT_OF_MEMORY');
  }

  private kill(why: 'TIMEOUT' | 'OUT_OF_MEMORY' | 'STOP'): void {
    if (this.state === 'DEAD' || !this.proc?.pid) return;
    this.killedFor ??= why;
    try {
      process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Kills the process group and waits until the instance is gone. */
  async stop(): Promise<void> {
    if (!this.proc) {
      this.state = 'DEAD';
      this.markReady(false);
      this.api.close();
      return;
    }
    this.kill('STOP');
    await this.exited;
  }

  private log(stream: RuntimeLogLine['stream'], text: string): void {
    this.logLine({ at: new Date(), stream, text });
  }

  private logLine(line: RuntimeLogLine): void {
    this.current?.logs.push(line);
    this.sink(this.spec.functionId, [line]);
  }

  private logSystem(lines: string[]): void {
    for (const text of lines) this.log('SYSTEM', text);
  }

  private readLines(stream: NodeJS.ReadableStream, name: 'STDOUT' | 'STDERR'): void {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.log(name, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (buf.length > MAX_LINE) {
        this.log(name, buf);
        buf = '';
      }
    });
    stream.on('end', () => {
      if (buf) this.log(name, buf);
      buf = '';
    });
  }

  private outputLine(line: RuntimeLogLine): void {
    if (line.stream === 'STDERR' && line.text.includes('JavaScript heap out of memory')) this.heapOom = true;
    this.logLine(line);
  }
}

/** The advanced logging controls as Lambda hands them to its runtimes (JSON only). */
function loggingEnv(spec: InstanceSpec): Record<string, string> {
  if (spec.logging.format !== 'JSON') return {};
  return { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: spec.logging.applicationLogLevel };
}

/** The X-Ray SDKs' settings: no segment errors without a trace context, and the daemon when there is one. */
function xrayEnv(spec: InstanceSpec): Record<string, string> {
  const env: Record<string, string> = { AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR' };
  if (spec.xrayDaemonAddress) {
    const [host, port] = spec.xrayDaemonAddress.split(':');
    Object.assign(env, {
      AWS_XRAY_DAEMON_ADDRESS: spec.xrayDaemonAddress,
      _AWS_XRAY_DAEMON_ADDRESS: host!,
      _AWS_XRAY_DAEMON_PORT: port ?? '2000',
    });
  }
  return env;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : { errorMessage: String(v) };
  } catch {
    return { errorMessage: body.toString('utf8') };
  }
}

/** errorType from the body (what runtimes send), else the header. */
function errorTypeOf(body: Buffer, header: string | null): string | null {
  const t = parseJson(body).errorType;
  return typeof t === 'string' ? t : header;
}
