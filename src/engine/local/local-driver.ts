// Runs node agents as detached processes on this host.
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineDriver, InstanceHandle, InstanceLaunchSpec, LaunchedInstance } from '../types.js';
import {
  descendantsOf,
  isPidAlive,
  killGroup,
  killPid,
  pidHasEnv,
  processesWithEnv,
  readProcStat,
  waitForExit,
} from './processes.js';

const INHERITED = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM',
  'JAVA_HOME', 'SPARK_HOME', 'PYSPARK_PYTHON', 'VIRTUAL_ENV', 'PYENV_ROOT', 'PYENV_VERSION',
]);

/** What a node agent inherits from the server: the basics, plus what AGENT_ENV_PASSTHROUGH names. */
function inheritable(name: string): boolean {
  if (INHERITED.has(name) || name.startsWith('LC_')) return true;
  const extra = process.env.AGENT_ENV_PASSTHROUGH;
  return !!extra && extra.split(',').map((s) => s.trim()).includes(name);
}

export interface LocalDriverOptions {
  dataDir: string;
  heartbeatMs?: number;
  orphanSeconds?: number;
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

export class LocalDriver implements EngineDriver {
  readonly host = os.hostname();
  private readonly dataDir: string;
  private readonly heartbeatMs: number | undefined;
  private readonly orphanSeconds: number | undefined;
  private readonly agentScript: string;

  constructor(options: LocalDriverOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.heartbeatMs = options.heartbeatMs;
    this.orphanSeconds = options.orphanSeconds;
    this.agentScript = options.agentScript ?? DEFAULT_AGENT_SCRIPT;
  }

  async launch(spec: InstanceLaunchSpec): Promise<LaunchedInstance> {
    if (!SAFE_INSTANCE_ID.test(spec.instanceId)) throw new Error(`invalid instance id: ${spec.instanceId}`);
    const workdir = path.join(this.dataDir, 'instances', spec.instanceId);
    mkdirSync(workdir, { recursive: true });

    // Agents and their steps see only a basic environment: the server's own (DATABASE_URL with its
    // password, ADMIN_API_KEY, …) is not theirs to read.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (inheritable(k)) env[k] = v;
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

    const deadline = Date.now() + KILL_WAIT_MS;
    for (;;) {
      const left = [...(agentIsOurs ? [pid] : []), ...targets].filter(isPidAlive);
      if (left.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(`processes of ${instance.instanceId} survived SIGKILL: ${left.join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
      for (const p of left) if (isPidAlive(p)) killPid(p, 'SIGKILL');
      sweepByEnv();
    }
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
