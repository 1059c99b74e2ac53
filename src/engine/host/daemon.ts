// The host daemon (`emberplane host join`, docs/hosts.md): offers this machine to a control plane
// over /host (engine/host/protocol.ts). It launches, stops and decommissions the node agents the
// control plane places here through a local driver of its own data dir, reports them in
// heartbeats, and stops those the control plane no longer wants (`keep`). It keeps its identity
// (host id and key) in DATA_DIR/host.json (0600), and a cache of the code packages of the function
// instances it runs in DATA_DIR/code (package-cache.ts); nothing else of the control plane.
// Part of the engine: it never touches the database.
import crypto from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { codeProof, credentialKey, helloProof, welcomeProof } from '../agent/credential.js';
import { LocalFunctionRuntime } from '../functions/local-runtime.js';
import type { InstanceSpec, ProvisionTarget } from '../functions/types.js';
import { LocalDriver } from '../local/local-driver.js';
import { processesWithEnv, readProcStat } from '../local/processes.js';
import { findSandboxTool } from '../sandbox/confine.js';
import type { InstanceHandle, LaunchedInstance } from '../types.js';
import {
  type FunctionInstancesResult,
  type FunctionInvokeResult,
  type HostCapacity,
  type HostControlMessage,
  type HostDescription,
  type HostInstanceReport,
  type HostMessage,
  toWireLines,
  toWireOutcome,
} from './protocol.js';
import { PackageCache } from './package-cache.js';

const IDENTITY_FILE = 'host.json';
const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 5_000;
// a stopped or replaced node's processes get this long before SIGKILL
const KEEP_STOP_GRACE_MS = 2_000;

export interface HostDaemonOptions {
  /** control plane base URLs (http(s)://host:port) or /host WebSocket URLs, tried in turn */
  servers: string[];
  /** a host token, for the first start (ignored once the daemon holds a key) */
  token: string | null;
  dataDir: string;
  description: HostDescription;
  /** SANDBOX=off: tenant code runs unconfined (development only) */
  sandbox: boolean;
  /** how function instances run here (FUNCTION_PYTHON, FUNCTION_PYTHON_SDK_DIR, FUNCTION_NODE_SDK_DIR, FUNCTION_SPARE_SANDBOXES) */
  functions?: { pythonCommand?: string; pythonSdkDir?: string | null; nodeSdkDir?: string | null; spares?: number };
  /** the code package cache: a package unused for graceSeconds is removed, looked for every sweepMs (FUNCTION_PACKAGE_GRACE_SECONDS, FUNCTION_PACKAGE_SWEEP_MS) */
  codePackages: { graceSeconds: number; sweepMs: number };
  log: (line: string) => void;
}

interface Identity {
  hostId: string;
  key: string;
}

/** A refusal by the control plane: the daemon stops (exit code non-zero, the message says why). */
export class HostRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** http://h:p → ws://h:p/host; a ws(s):// URL is taken as given (an agent URL's path is replaced by /host). */
export function hostSocketUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`not an http(s):// or ws(s):// URL: ${server}`);
  url.pathname = '/host';
  url.search = '';
  return url.toString();
}

export class HostDaemon {
  private readonly driver: LocalDriver;
  private readonly identityFile: string;
  private identity: Identity | null;
  /** the node agents this daemon runs (launched now, or found running at start) */
  private readonly nodes = new Map<string, LaunchedInstance>();
  private readonly servers: string[];
  private ws: WebSocket | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping = false;
  /** the function instances the control plane places here (started on first use) */
  private functions: Promise<LocalFunctionRuntime> | null = null;
  /** this host's copies of code packages, fetched by hash */
  private readonly packages: PackageCache;
  /** the challenge of the welcomed session and the HTTP base of its server (code is fetched with them) */
  private current: { nonce: string; httpBase: string } | null = null;
  /** running invocations by invocation id: fn.abort cuts them short */
  private invoking = new Map<string, AbortController>();

  constructor(private readonly options: HostDaemonOptions) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    this.identityFile = path.join(options.dataDir, IDENTITY_FILE);
    this.identity = existsSync(this.identityFile) ? (JSON.parse(readFileSync(this.identityFile, 'utf8')) as Identity) : null;
    this.servers = [...new Set(options.servers.map(hostSocketUrl))];
    this.driver = new LocalDriver({ dataDir: options.dataDir, sandbox: options.sandbox });
    this.packages = new PackageCache({
      dir: path.join(options.dataDir, 'code'),
      graceMs: options.codePackages.graceSeconds * 1_000,
      download: (hash) => this.downloadCode(hash),
      log: options.log,
    });
    this.findRunningNodes();
  }

  get hostId(): string | null {
    return this.identity?.hostId ?? null;
  }

  /** Node agents left running by an earlier daemon of this data dir (they outlive it, as they outlive a server). */
  private findRunningNodes(): void {
    const dir = path.join(this.options.dataDir, 'instances');
    if (!existsSync(dir)) return;
    for (const instanceId of readdirSync(dir)) {
      const workdir = path.join(dir, instanceId);
      const inside = processesWithEnv('AGENT_WORKDIR', workdir);
      // the agent is the one whose parent is not itself a process of the node
      const agent = inside.find((p) => !inside.includes(readProcStat(p)?.ppid ?? -1));
      if (agent !== undefined) this.nodes.set(instanceId, { pid: agent, host: this.driver.host, workdir });
    }
  }

  private reports(): HostInstanceReport[] {
    return [...this.nodes].map(([instanceId, n]) => {
      const handle = this.handle(instanceId);
      return { instanceId, pid: n.pid, alive: this.driver.isAlive(handle) === true, oomKills: this.driver.oomKills(handle) };
    });
  }

  private handle(instanceId: string): InstanceHandle {
    const n = this.nodes.get(instanceId);
    return { instanceId, pid: n?.pid ?? null, host: this.driver.host };
  }

  private send(m: HostMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  /** Connects, over and over, to each server in turn; resolves on stop(), rejects when refused. */
  async run(): Promise<void> {
    let index = 0;
    let delay = BACKOFF_START_MS;
    if (!this.stopping) this.packages.start(this.options.codePackages.sweepMs);
    while (!this.stopping) {
      const url = this.servers[index % this.servers.length]!;
      index++;
      const welcomed = await this.session(url);
      if (this.stopping) break;
      delay = welcomed ? BACKOFF_START_MS : Math.min(delay * 2, BACKOFF_MAX_MS);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** One connection: true when it was welcomed (the backoff starts over). */
  private session(url: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let welcomed = false;
      let nonce = '';
      const ws = new WebSocket(url, { maxPayload: 16 * 1024 * 1024 });
      this.ws = ws;
      const fail = (err: Error) => {
        ws.terminate();
        reject(err);
      };
      ws.on('message', (data) => {
        let m: HostControlMessage;
        try {
          m = JSON.parse(data.toString()) as HostControlMessage;
        } catch {
          ws.close(4400, 'malformed message');
          return;
        }
        switch (m.type) {
          case 'challenge': {
            nonce = m.nonce;
            const problem = this.greet(nonce);
            if (problem) fail(problem);
            return;
          }
          case 'joined':
            this.saveIdentity({ hostId: m.hostId, key: credentialKey(m.secret) });
            this.options.log(`joined as host ${m.hostId}`);
            return;
          case 'welcome': {
            const id = this.identity;
            if (!id || m.hostId !== id.hostId || m.proof !== welcomeProof(id.key, nonce, id.hostId)) {
              fail(new HostRefused('BAD_WELCOME', `the server at ${url} could not prove it is this host's control plane`));
              return;
            }
            welcomed = true;
            this.current = { nonce, httpBase: httpBaseOf(url) };
            this.options.log(`connected to ${url} as host ${id.hostId}`);
            this.startHeartbeats(m.heartbeatMs);
            return;
          }
          case 'error':
            fail(new HostRefused(m.code, m.message));
            return;
          case 'keep':
            void this.keepOnly(new Set(m.instanceIds));
            if (m.functionInstanceIds) void this.keepFunctions(new Set(m.functionInstanceIds));
            return;
          case 'fn.invoke':
            this.answer(m.requestId, () => this.invokeFunction(m));
            return;
          case 'fn.abort':
            this.invoking.get(m.invocationId)?.abort();
            return;
          case 'fn.provision':
            this.answer(m.requestId, () => this.provisionFunctions(m.targets));
            return;
          case 'fn.reap':
            this.answer(m.requestId, async () => {
              const runtime = await this.functionRuntime();
              await runtime.reap(m.all ? 0 : m.idleMs, m.all ? () => false : undefined);
              return { instances: runtime.instances() };
            });
            return;
          case 'fn.remove':
            this.answer(m.requestId, async () => {
              await (await this.functionRuntime()).removeFunction(m.functionId);
              return undefined;
            });
            return;
          case 'launch':
            this.answer(m.requestId, async () => {
              const launched = await this.driver.launch(m.spec);
              this.nodes.set(m.spec.instanceId, launched);
              this.learnServers(m.spec.controlPlaneUrls);
              return launched;
            });
            return;
          case 'stop':
            this.answer(m.requestId, async () => {
              await this.driver.stop({ ...m.instance, host: this.driver.host }, m.graceMs);
              this.nodes.delete(m.instance.instanceId);
              return undefined;
            });
            return;
          case 'decommission':
            this.answer(m.requestId, async () => {
              await this.driver.decommission({ ...m.instance, host: this.driver.host }, m.waitMs);
              return undefined;
            });
            return;
        }
      });
      ws.on('close', () => {
        this.stopHeartbeats();
        if (this.ws === ws) {
          this.ws = null;
          this.current = null;
        }
        resolve(welcomed);
      });
      ws.on('error', (err) => {
        if (!welcomed) this.options.log(`cannot reach ${url}: ${err.message}`);
      });
    });
  }

  /** join with the token the first time, hello with the key after (neither: why not) */
  private greet(nonce: string): HostRefused | null {
    const { description } = this.options;
    if (this.identity) {
      const { hostId, key } = this.identity;
      this.send({ type: 'hello', hostId, proof: helloProof(key, nonce, hostId), instances: this.reports(), ...description });
    } else if (this.options.token) {
      this.send({ type: 'join', token: this.options.token, ...description });
    } else {
      return new HostRefused('NO_TOKEN', `no host key in ${this.identityFile} and no --token: create one with createHostToken`);
    }
    return null;
  }

  private saveIdentity(identity: Identity): void {
    const tmp = `${this.identityFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(identity), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.identityFile);
    this.identity = identity;
  }

  /** The control planes' agent URLs name every live server: the daemon tries them too when its own is gone. */
  private learnServers(agentUrls: string[]): void {
    for (const u of agentUrls) {
      try {
        const url = hostSocketUrl(u);
        if (!this.servers.includes(url)) this.servers.push(url);
      } catch {
        // not a URL this daemon can dial
      }
    }
  }

  private answer(
    requestId: string,
    work: () => Promise<LaunchedInstance | FunctionInvokeResult | FunctionInstancesResult | undefined>,
  ): void {
    work().then(
      (result) => this.send({ type: 'reply', requestId, ok: true, ...(result ? { result } : {}) }),
      (err: Error) => this.send({ type: 'reply', requestId, ok: false, error: err.message }),
    );
  }

  /** Stops every node not in `keep` (replaced while this host was away); forgets the dead ones. */
  private async keepOnly(keep: Set<string>): Promise<void> {
    for (const instanceId of [...this.nodes.keys()]) {
      if (keep.has(instanceId)) continue;
      const handle = this.handle(instanceId);
      if (this.driver.isAlive(handle)) this.options.log(`stopping node ${instanceId}: the control plane no longer keeps it here`);
      await this.driver
        .stop(handle, KEEP_STOP_GRACE_MS)
        .catch((err: Error) => this.options.log(`stopping ${instanceId} failed: ${err.message}`));
      this.nodes.delete(instanceId);
    }
  }

  /** The function runtime of this host: its own root under the data dir, the same sandbox as a server's. */
  private functionRuntime(): Promise<LocalFunctionRuntime> {
    this.functions ??= (async () => {
      const tool = this.options.sandbox ? findSandboxTool().tool : null;
      if (this.options.sandbox && !tool) throw new Error('bubblewrap and setpriv are not installed on this host (or set SANDBOX=off)');
      // under the temp dir as a server's (sandboxed uids must reach it; the data dir is 0700), named
      // after this data dir: daemons sharing a machine (tests) keep apart, a restarted one sweeps its last
      const runtime = new LocalFunctionRuntime(
        os.tmpdir(),
        `host-${crypto.createHash('sha256').update(path.resolve(this.options.dataDir)).digest('hex').slice(0, 16)}`,
        (functionId, lines) => {
          this.send({ type: 'fn.lines', functionId, lines: toWireLines(lines) });
          // handed to the control plane: the instance's output file need not keep them (see output.ts)
          for (const line of lines) line.stored?.();
        },
        { ...this.options.functions, tool },
      );
      await runtime.init();
      return runtime;
    })();
    return this.functions;
  }

  /** The control plane's copy of the code package `hash` (the cache checks it against the hash). */
  private async downloadCode(hash: string): Promise<Buffer> {
    const session = this.current;
    const id = this.identity;
    if (!session || !id) throw new Error('not connected to a control plane: the code package cannot be fetched');
    const res = await fetch(`${session.httpBase}/host/code/${hash}`, {
      headers: { 'x-emberplane-host': id.hostId, 'x-emberplane-proof': codeProof(id.key, session.nonce, hash) },
    });
    if (!res.ok) throw new Error(`the code package ${hash} could not be fetched: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /**
   * Runs `work` with the specs given this host's copies of their packages and their layers' (a
   * joined host shares no disk with the server), held until it settles: the sweep leaves them to
   * the instances starting or invoked with them.
   */
  private withLocalSpecs<T>(specs: InstanceSpec[], work: (local: InstanceSpec[]) => Promise<T>): Promise<T> {
    const hashes = specs.flatMap((s) => [s.codeHash, ...(s.layers ?? []).map((l) => l.hash)]);
    return this.packages.holding(hashes, (pathOf) =>
      work(
        specs.map((s) => ({
          ...s,
          packagePath: pathOf(s.codeHash),
          layers: (s.layers ?? []).map((l) => ({ hash: l.hash, packagePath: pathOf(l.hash) })),
        })),
      ),
    );
  }

  private async invokeFunction(m: Extract<HostControlMessage, { type: 'fn.invoke' }>): Promise<FunctionInvokeResult> {
    const runtime = await this.functionRuntime();
    return this.withLocalSpecs([m.spec], async ([spec]) => {
      const abort = new AbortController();
      this.invoking.set(m.request.requestId, abort);
      try {
        const outcome = await runtime.invokeOn(
          m.instanceId,
          spec!,
          {
            requestId: m.request.requestId,
            payload: Buffer.from(m.request.payload, 'base64'),
            invokedFunctionArn: m.request.invokedFunctionArn,
            clientContext: m.request.clientContext,
          },
          abort.signal,
        );
        const idle = runtime.instances().some((i) => i.instanceId === outcome.instanceId && i.state === 'IDLE');
        return { outcome: toWireOutcome(outcome), idle };
      } finally {
        this.invoking.delete(m.request.requestId);
      }
    });
  }

  private async provisionFunctions(targets: ProvisionTarget[]): Promise<FunctionInstancesResult> {
    const runtime = await this.functionRuntime();
    return this.withLocalSpecs(
      targets.map((t) => t.spec),
      async (specs) => {
        const states = await runtime.provision(targets.map((t, i) => ({ ...t, spec: specs[i]! })));
        return { states: [...states], instances: runtime.instances() };
      },
    );
  }

  /** Stops the function instances the control plane no longer knows of (it forgot them when the last session ended). */
  private async keepFunctions(keep: Set<string>): Promise<void> {
    if (!this.functions) return;
    const runtime = await this.functions.catch(() => null);
    await runtime?.stopAllBut(keep).catch((err: Error) => this.options.log(`stopping function instances failed: ${err.message}`));
  }

  private startHeartbeats(ms: number): void {
    this.stopHeartbeats();
    const beat = () =>
      void (this.functions?.catch(() => null) ?? Promise.resolve(null)).then((runtime) =>
        this.send({ type: 'heartbeat', at: Date.now(), instances: this.reports(), functions: runtime?.instances() ?? [] }),
      );
    beat();
    this.heartbeat = setInterval(beat, Math.max(100, ms));
  }

  private stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Leaves the control plane; node agents keep running (a restarted daemon finds them again), function instances stop. */
  stop(): void {
    this.stopping = true;
    this.stopHeartbeats();
    this.packages.stop();
    this.ws?.close(1001, 'host daemon stopping');
    void this.functions
      ?.then((runtime) => runtime.close())
      .catch((err: Error) => this.options.log(`function instances not stopped: ${err.message}`));
  }
}

/** ws://h:p/host → http://h:p (where the host fetches code packages) */
function httpBaseOf(socketUrl: string): string {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

/** The machine's own capacity: its CPUs, memory, and the file system of `dir`. */
export function machineCapacity(dir: string): HostCapacity {
  const disk = statfsSync(dir);
  return {
    vcpu: os.availableParallelism(),
    memoryMb: Math.floor(os.totalmem() / 2 ** 20),
    diskMb: Math.floor((Number(disk.blocks) * Number(disk.bsize)) / 2 ** 20),
  };
}

/** This machine's own name and address (the first non-internal IPv4 address, else loopback). */
export function defaultAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}
