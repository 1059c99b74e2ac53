// Runs node agents as detached processes on this host, each node's tenant code sandboxed as the
// node's own uid in the node's limit group (see agent/node-sandbox.js).
//
// Layout, started as root (a server run by a normal user keeps its own uid and has no limits):
//   DATA_DIR/                 o+x: traversable (the embedded Postgres needs it too), not listable
//   DATA_DIR/instances/       0710 root:<nodes gid>
//   DATA_DIR/instances/<id>/  0711 root: the agent's own files (agent.log, bootstrap.log, daemon logs)
//   DATA_DIR/instances/<id>/node/  0700 <node uid>: all the node's sandboxes may write
//   DATA_DIR/buckets/         2770 root:<nodes gid>: steps read and write objects by path (and
//                             the server's staging dir of uploads, whose files are renamed there)
// The agent runs as the server's user outside any sandbox: it holds the node's credential, and
// needs to switch to the node's uid (setpriv) and write its cgroup.
import { execFile, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { chmodSync, chownSync, closeSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODES_GID, nodeDirOf, nodeMaxProcesses, nodeUid } from '../agent/node-sandbox.js';
import { findSandboxTool, sandboxedCommand, type SandboxTool } from '../sandbox/confine.js';
import { probeLimits, type Limits } from '../sandbox/limits.js';
import type { EngineDriver, InstanceHandle, InstanceLaunchSpec, LaunchedInstance } from '../types.js';
import { descendantsOf, isPidAlive, killGroup, killPid, pidHasEnv, processesWithEnv, readProcStat, waitForExit } from './processes.js';

const INHERITED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
  'JAVA_HOME',
  'SPARK_HOME',
  'PYSPARK_PYTHON',
  'VIRTUAL_ENV',
  'PYENV_ROOT',
  'PYENV_VERSION',
]);

/** What a node agent inherits from the server: the basics, plus the names given (AGENT_ENV_PASSTHROUGH). */
function inheritable(name: string, passthrough: readonly string[]): boolean {
  return INHERITED.has(name) || name.startsWith('LC_') || passthrough.includes(name);
}

export interface LocalDriverOptions {
  dataDir: string;
  /** false (SANDBOX=off): tenant code runs unconfined, as the agent (development only) */
  sandbox?: boolean;
  /**
   * Where object files are made (the buckets, and where uploads are staged before they are renamed
   * into them): shared with the nodes' group, so that steps read and write objects by path.
   */
  objectDirs?: string[];
  heartbeatMs?: number;
  orphanSeconds?: number;
  /** environment variables agents inherit besides the basics (AGENT_ENV_PASSTHROUGH) */
  envPassthrough?: readonly string[];
  /** Path of node-agent.js; defaults to the copy next to this module. */
  agentScript?: string;
}

// Resolved relative to this module, so it works from src/ (tsx, vitest) and from dist/: allowJs
// makes `tsc -p tsconfig.build.json` emit dist/engine/agent/node-agent.js next to this file's output.
const DEFAULT_AGENT_SCRIPT = fileURLToPath(new URL('../agent/node-agent.js', import.meta.url));

// How long SIGKILLed processes get to disappear before stop() gives up on them.
const KILL_WAIT_MS = 10_000;

// The instance id becomes a directory name.
const SAFE_INSTANCE_ID = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,200}$/;
// the nodes' limit groups, below each cgroup hierarchy (one per instance, named by its id)
const LIMITS_OWNER = 'emberplane/nodes';
const run = promisify(execFile);

export class LocalDriver implements EngineDriver {
  readonly host = os.hostname();
  private readonly dataDir: string;
  private readonly heartbeatMs: number | undefined;
  private readonly orphanSeconds: number | undefined;
  private readonly agentScript: string;
  private readonly sandboxed: boolean;
  /** root: each node gets a uid of its own; a normal user's server runs the sandboxes as itself */
  private readonly asRoot = process.getuid?.() === 0;
  private readonly tool: SandboxTool | null;
  private readonly limits: Limits | null;
  private readonly envPassthrough: readonly string[];

  constructor(options: LocalDriverOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.heartbeatMs = options.heartbeatMs;
    this.orphanSeconds = options.orphanSeconds;
    this.agentScript = options.agentScript ?? DEFAULT_AGENT_SCRIPT;
    this.envPassthrough = options.envPassthrough ?? [];
    this.sandboxed = options.sandbox ?? true;
    this.tool = this.sandboxed ? findSandboxTool().tool : null;
    this.limits = this.sandboxed ? probeLimits(LIMITS_OWNER) : null;
    if (this.sandboxed && this.asRoot) this.openToNodes(options.objectDirs ?? []);
    this.sweepLimitGroups();
  }

  /** The directories the nodes' uids pass through or share (the layout above). */
  private openToNodes(objectDirs: string[]): void {
    const traversable = statSync(this.dataDir).mode;
    if ((traversable & 0o001) === 0) chmodSync(this.dataDir, (traversable & 0o7777) | 0o001);
    const instances = path.join(this.dataDir, 'instances');
    mkdirSync(instances, { recursive: true });
    chownSync(instances, 0, NODES_GID);
    chmodSync(instances, 0o710);
    for (const dir of objectDirs) {
      mkdirSync(dir, { recursive: true });
      if (statSync(dir).gid !== NODES_GID) shareWithNodes(dir);
    }
  }

  /** Limit groups of instances whose agent is gone (a crash, a reboot): their processes killed, the groups removed. */
  private sweepLimitGroups(): void {
    if (!this.limits) return;
    for (const name of this.limits.names()) {
      const group = this.limits.find(name);
      if (!group) continue;
      const inside = new Set(group.pids());
      // the agent itself is outside its group; its tenant processes carry its instance id too
      if (processesWithEnv('AGENT_INSTANCE_ID', name).some((p) => !inside.has(p))) continue;
      group.killAll();
      group.remove();
    }
  }

  async launch(spec: InstanceLaunchSpec): Promise<LaunchedInstance> {
    if (!SAFE_INSTANCE_ID.test(spec.instanceId)) throw new Error(`invalid instance id: ${spec.instanceId}`);
    if (this.sandboxed && !this.tool) {
      throw new Error(
        `tenant code runs sandboxed and the sandbox tools are missing: ${findSandboxTool().missing.join(', ')} (or SANDBOX=off for development)`,
      );
    }
    const workdir = path.join(this.dataDir, 'instances', spec.instanceId);
    mkdirSync(workdir, { recursive: true });
    const nodeDir = nodeDirOf(workdir);
    mkdirSync(nodeDir, { recursive: true });
    const uid = this.sandboxed && this.asRoot ? nodeUid(spec.instanceId) : null;
    if (uid !== null) {
      // the node's uid passes through the agent's directory into its own, and nowhere else
      chmodSync(workdir, 0o711);
      lchownSync(nodeDir, uid, NODES_GID);
      chmodSync(nodeDir, 0o700);
      requireReachable(nodeDir);
    }
    const group = this.limits?.create(spec.instanceId, {
      memoryBytes: spec.memoryMb * 1024 * 1024,
      cpus: spec.vcpu,
      maxProcesses: nodeMaxProcesses(spec.vcpu),
    });

    // Agents and their steps see only a basic environment: the server's own (DATABASE_URL with its
    // password, ADMIN_API_KEY, …) is not theirs to read.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (inheritable(k, this.envPassthrough)) env[k] = v;
    Object.assign(env, {
      AGENT_CONTROL_PLANE_URLS: spec.controlPlaneUrls.join(','),
      AGENT_INSTANCE_ID: spec.instanceId,
      // The token travels on a pipe (fd 3), never in the environment (readable by the agent's own
      // steps in /proc) nor on disk.
      AGENT_TOKEN_FD: '3',
      AGENT_WORKDIR: workdir,
      CLUSTER_ID: spec.clusterId,
      CLUSTER_INSTANCE_ROLE: spec.role,
      CLUSTER_INSTANCE_VCPU: String(spec.vcpu),
      CLUSTER_INSTANCE_MEMORY_MB: String(spec.memoryMb),
    });
    if (!this.sandboxed) env.AGENT_SANDBOX = 'off';
    if (uid !== null) Object.assign(env, { AGENT_SANDBOX_UID: String(uid), AGENT_SANDBOX_GID: String(NODES_GID) });
    if (group) env.AGENT_LIMIT_PROCS = group.procsFiles.join(',');
    if (this.heartbeatMs !== undefined) env.AGENT_HEARTBEAT_MS = String(this.heartbeatMs);
    if (this.orphanSeconds !== undefined) env.AGENT_ORPHAN_SECONDS = String(this.orphanSeconds);

    // A file, not a pipe: the agent must keep logging after the server that started it is gone.
    const logFd = openSync(path.join(workdir, 'agent.log'), 'a');
    try {
      // detached: its own session and process group, so it outlives a server restart and stop()
      // can signal the group.
      const child = spawn(process.execPath, [this.agentScript], {
        cwd: workdir,
        env,
        detached: true,
        stdio: ['ignore', logFd, logFd, 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const tokenPipe = child.stdio[3] as Writable;
      await new Promise<void>((resolve, reject) => {
        tokenPipe.once('error', reject);
        tokenPipe.end(spec.token, () => resolve());
      });
      tokenPipe.destroy();
      child.unref();
      return { pid: child.pid!, host: this.host, workdir };
    } finally {
      closeSync(logFd);
    }
  }

  async stop(instance: InstanceHandle, graceMs: number): Promise<void> {
    // Another host's pid means nothing here.
    if (instance.host !== this.host) return;
    const pid = instance.pid;
    const ownGroup = readProcStat(process.pid)?.pgrp;

    // Capture the tree before signalling: once the agent dies its steps are re-parented and no
    // longer findable as descendants. The environment scan also finds steps of an agent that
    // died earlier (they inherit AGENT_INSTANCE_ID).
    const agentIsOurs = pid !== null && this.isOurAgent(pid, instance.instanceId);
    const targets = new Set<number>(agentIsOurs ? descendantsOf(pid) : []);
    for (const p of processesWithEnv('AGENT_INSTANCE_ID', instance.instanceId)) targets.add(p);
    targets.delete(process.pid);
    if (pid !== null) targets.delete(pid);

    if (agentIsOurs) {
      // The agent stops its steps itself on SIGTERM and exits 0 when done.
      killPid(pid, 'SIGTERM');
      await waitForExit(pid, graceMs);
    }

    const groups = new Set<number>();
    if (agentIsOurs && pid !== ownGroup) groups.add(pid);
    for (const p of targets) {
      const g = readProcStat(p)?.pgrp;
      if (g !== undefined && g > 1 && g !== ownGroup) groups.add(g);
    }
    const sweepByEnv = () => {
      // Whatever forked after the snapshot still carries the instance id.
      for (const p of processesWithEnv('AGENT_INSTANCE_ID', instance.instanceId)) {
        targets.add(p);
        killPid(p, 'SIGKILL');
      }
    };
    for (const g of groups) killGroup(g, 'SIGKILL');
    if (agentIsOurs && isPidAlive(pid)) killPid(pid, 'SIGKILL');
    for (const p of targets) if (isPidAlive(p)) killPid(p, 'SIGKILL');
    sweepByEnv();

    const group = this.limits?.find(instance.instanceId) ?? null;
    const deadline = Date.now() + KILL_WAIT_MS;
    for (;;) {
      // whatever is left in the node's limit group (it carries no instance id, or hid it) goes too
      group?.killAll();
      const left = [...(agentIsOurs ? [pid] : []), ...targets, ...(group?.pids() ?? [])].filter(isPidAlive);
      if (left.length === 0) break;
      if (Date.now() >= deadline) {
        throw new Error(`processes of ${instance.instanceId} survived SIGKILL: ${left.join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
      for (const p of left) if (isPidAlive(p)) killPid(p, 'SIGKILL');
      sweepByEnv();
    }
    group?.remove();
    await this.removeNodeDir(instance.instanceId);
  }

  /**
   * Empties and removes the node's directory once nothing of the node runs. Whatever links the
   * node left there are never followed by anyone with more rights than the node: the removal runs
   * inside a sandbox of the node's own (its uid, its directory the only thing of the host it sees),
   * the directory itself is removed by rmdir, which follows nothing. The agent's own files (logs)
   * stay.
   */
  private async removeNodeDir(instanceId: string): Promise<void> {
    if (!SAFE_INSTANCE_ID.test(instanceId)) return;
    const nodeDir = nodeDirOf(path.join(this.dataDir, 'instances', instanceId));
    const stat = lstatSync(nodeDir, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) return;
    const find = ['find', nodeDir, '-mindepth', '1', '-delete'];
    if (this.tool) {
      const uid = this.asRoot ? stat.uid : null;
      const { file, args } = sandboxedCommand({
        tool: this.tool,
        uid,
        gid: this.asRoot ? NODES_GID : null,
        limits: null,
        cwd: '/',
        mounts: [{ type: 'bind', source: nodeDir, target: nodeDir }],
        // the node may have left directories it can't enter (chmod 000): its own to open again
        argv: ['/bin/sh', '-c', 'chmod -R u+rwx -- "$0" 2>/dev/null; exec "$@"', nodeDir, ...find],
      });
      await run(file, args).catch(() => {});
    } else {
      // SANDBOX=off: the node ran as this user anyway; find deletes without following links
      await run(find[0]!, find.slice(1)).catch(() => {});
    }
    try {
      rmdirSync(nodeDir);
    } catch {
      // something the node made could not be removed: it stays, inside the node's 0700 directory
    }
  }

  /** How many processes of the node the kernel killed for memory (its limit group's count). */
  oomKills(instance: InstanceHandle): number {
    if (instance.host !== this.host || !SAFE_INSTANCE_ID.test(instance.instanceId)) return 0;
    return this.limits?.find(instance.instanceId)?.oomKills() ?? 0;
  }

  async decommission(instance: InstanceHandle, waitMs: number): Promise<void> {
    if (instance.host !== this.host || instance.pid === null || !this.isOurAgent(instance.pid, instance.instanceId)) return;
    // SIGUSR2 is the agent's "drain and leave" (docs/agent-protocol.md); it exits when drained
    killPid(instance.pid, 'SIGUSR2');
    await waitForExit(instance.pid, waitMs);
  }

  isAlive(instance: InstanceHandle): boolean | undefined {
    if (instance.host !== this.host) return undefined;
    if (instance.pid === null) return false;
    return this.isOurAgent(instance.pid, instance.instanceId);
  }

  /**
   * A recorded pid may belong to an unrelated process after a reboot or pid wrap-around; only
   * a process carrying the instance id in its environment is the agent (unreadable: assume yes).
   */
  private isOurAgent(pid: number, instanceId: string): boolean {
    return isPidAlive(pid) && pidHasEnv(pid, 'AGENT_INSTANCE_ID', instanceId) !== false;
  }
}

/**
 * The buckets directory as the nodes' group's (once, on the first start with node sandboxes):
 * group-owned and group-writable, setgid so that what is made below stays the group's.
 */
function shareWithNodes(dir: string): void {
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) return;
  lchownSync(dir, stat.uid, NODES_GID);
  if (stat.isDirectory()) {
    chmodSync(dir, (stat.mode & 0o7777) | 0o2070);
    for (const name of readdirSync(dir)) shareWithNodes(path.join(dir, name));
  } else if (stat.isFile()) {
    chmodSync(dir, (stat.mode & 0o7777) | 0o060);
  }
}

/** Refuses a node directory the node's uid could not reach (an ancestor closed to others, e.g. /root). */
function requireReachable(dir: string): void {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const { mode, gid } = statSync(d);
    if ((mode & 0o001) === 0 && !(mode & 0o010 && gid === NODES_GID)) {
      throw new Error(
        `the nodes' users can't reach their directories: ${d} is closed to others (mode ${(mode & 0o777).toString(8)}); put DATA_DIR where every user may pass through`,
      );
    }
  }
}
