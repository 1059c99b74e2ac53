// @ts-check
// How a node runs tenant code (steps, bootstrap actions, the SQL runner, Spark daemons and drivers):
// each process tree in a sandbox of src/engine/sandbox/confine.js, as the node's own unprivileged
// uid (EMR's `hadoop` user, one per node), in the node's limit group (its instance type's memory,
// vCPUs and a process cap). Inside it sees the system read-only, the node's own directory
// (<workdir>/node) writable, a private /tmp, the project's engine code read-only (the SQL and Spark
// step runners) and what the step itself was given (the buckets it names). The agent that starts
// the sandboxes stays outside them, as the server's user: it holds the node's credential, which no
// sandbox can read (another uid, no ptrace, its own pid namespace).
//
// The launcher (engine/local/local-driver.ts) says how, in the agent's environment:
//   AGENT_SANDBOX=off            run unconfined, as the agent (development only: SANDBOX=off)
//   AGENT_SANDBOX_UID/_GID       the node's uid and gid (absent: the agent's own, a server run by a normal user)
//   AGENT_LIMIT_PROCS            the limit group's cgroup.procs files, comma-separated (absent: no limits)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSandboxTool, sandboxedCommand, sandboxMainPid, signalSandbox } from '../sandbox/confine.js';
import { LimitGroup } from '../sandbox/limits.js';

/** @typedef {import('../sandbox/confine.js').Mount} Mount */

const PERL = '/usr/bin/perl';
// The sandbox started ahead of a step waits in this launcher (Perl starts while no step waits; a
// shell would fork mkdir once the step is there, ~2 ms of every dispatch). It reads a line with a
// byte count, then that many bytes of NUL-separated fields: the step's directory, the number of
// environment entries, the entries, the argv. Counted, not read to the end of stdin: the agent's
// write arrives at once, its end of the pipe only when the agent's event loop gets to it. It makes
// the directory (umask 002: the buckets are shared by the nodes' gid), enters it, sets exactly that
// environment, takes /dev/null as stdin and execs the step (same pid). An input cut short (the
// agent left) exits quietly; failures exit as a shell's would (126, 127).
const WARM_LAUNCHER = `my $len = <STDIN>; exit 0 if !defined $len || $len !~ /^(\\d+)\\n\\z/; $len = $1; my $d = "";
while (length($d) < $len) { read(STDIN, $d, $len - length($d), length($d)) or exit 0; }
my @f = split /\\0/, $d, -1; pop @f; my $cwd = shift @f; my $n = shift @f;
umask 002; my $p = ""; for (grep { length } split m{/}, $cwd) { $p .= "/$_"; mkdir $p; }
chdir $cwd or do { print STDERR "cd: $cwd: $!\\n"; exit 126 };
%ENV = (); for (splice(@f, 0, $n)) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
open(STDIN, "<", "/dev/null"); exec { $f[0] } @f; print STDERR "$f[0]: $!\\n"; exit($!{ENOENT} ? 127 : 126);`;

// Node uids: a stable one per instance, hashed into [NODE_UID_BASE, NODE_UID_BASE + NODE_UID_SPAN),
// above the function instances' blocks (1,000,000 + 100,000 per block, below 401,000,000).
export const NODE_UID_BASE = 600_000_000;
const NODE_UID_SPAN = 400_000_000;
// One group for all nodes: the buckets directory is theirs (setgid, group-writable), so steps
// on any node read and write objects; each node's own directory is 0700 to its uid.
export const NODES_GID = 599_999_999;
// processes and threads of a node (a JVM counts one per thread): enough for Spark, not for a fork bomb
export const NODE_PROCESSES_PER_VCPU = 512;
// the name the node's uid and group have inside its sandboxes
const NODE_USER = 'hadoop';
export const NODE_MIN_PROCESSES = 1024;

/** The uid of instance `instanceId`'s sandboxes. @param {string} instanceId */
export function nodeUid(instanceId) {
  return NODE_UID_BASE + (createHash('sha256').update(instanceId).digest().readUInt32BE(0) % NODE_UID_SPAN);
}

/** The node's process cap, from its instance type. @param {number} vcpu */
export function nodeMaxProcesses(vcpu) {
  return Math.max(NODE_MIN_PROCESSES, NODE_PROCESSES_PER_VCPU * vcpu);
}

/** The directory of a node that its sandboxes may write (the rest of the workdir is the agent's). @param {string} workdir */
export const nodeDirOf = (workdir) => path.join(workdir, 'node');

/** The project's files the runners need, read-only: engine/ (agent, sql), package.json, DuckDB. */
function codeMounts() {
  const engineDir = fileURLToPath(new URL('..', import.meta.url));
  /** @type {Mount[]} */
  const mounts = [{ type: 'ro-bind', source: engineDir, target: engineDir }];
  // the nearest package.json says "type": "module"; node_modules/@duckdb holds the SQL runner's engine
  for (let dir = path.dirname(engineDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    mounts.push({ type: 'ro-bind', source: pkg, target: pkg });
    const duckdb = path.join(dir, 'node_modules', '@duckdb');
    if (existsSync(duckdb)) mounts.push({ type: 'ro-bind', source: duckdb, target: duckdb });
    break;
  }
  return mounts;
}

/**
 * The node's uid as a user (EMR's `hadoop`): the host's /etc/passwd and /etc/group with it added,
 * written in the agent's directory (not the node's) and bound over the originals. Programs that
 * look their user up (Hadoop's login in Spark, `whoami`) fail for a uid without a name.
 * @param {string} workdir @param {number} uid @param {number} gid @param {string} home
 * @returns {Mount[]}
 */
function userMounts(workdir, uid, gid, home) {
  /** @param {string} file */
  const host = (file) => {
    try {
      return readFileSync(file, 'utf8').replace(/\n?$/, '\n');
    } catch {
      return '';
    }
  };
  const passwd = path.join(workdir, 'passwd');
  const group = path.join(workdir, 'group');
  writeFileSync(passwd, `${host('/etc/passwd')}${NODE_USER}:x:${uid}:${gid}:emberplane node:${home}:/bin/sh\n`);
  writeFileSync(group, `${host('/etc/group')}${NODE_USER}:x:${gid}:\n`);
  // readable by all, as the originals, whatever the agent's umask
  for (const file of [passwd, group]) chmodSync(file, 0o644);
  return [
    { type: 'ro-bind', source: passwd, target: '/etc/passwd' },
    { type: 'ro-bind', source: group, target: '/etc/group' },
  ];
}

export class NodeSandbox {
  /**
   * @param {NodeJS.ProcessEnv} env the agent's environment (see the header)
   * @param {string} workdir
   */
  constructor(env, workdir) {
    this.enabled = env.AGENT_SANDBOX !== 'off';
    this.nodeDir = nodeDirOf(workdir);
    const uid = Number(env.AGENT_SANDBOX_UID);
    const gid = Number(env.AGENT_SANDBOX_GID);
    this.uid = env.AGENT_SANDBOX_UID && Number.isInteger(uid) && uid > 0 ? uid : null;
    this.gid = env.AGENT_SANDBOX_GID && Number.isInteger(gid) && gid > 0 ? gid : null;
    this.procsFiles = (env.AGENT_LIMIT_PROCS ?? '').split(',').filter(Boolean);
    // v1 lists one directory per hierarchy (memory, pids, cpu), v2 the one unified directory
    this.limits = this.procsFiles.length
      ? new LimitGroup(
          this.procsFiles.length === 1 ? 2 : 1,
          this.procsFiles.map((f) => path.dirname(f)),
        )
      : null;
    const found = this.enabled ? findSandboxTool() : { tool: null, missing: [] };
    this.tool = found.tool;
    /** why tenant code cannot run here, or null */
    this.problem = this.enabled && !found.tool ? `the sandbox tools are missing: install ${found.missing.join(' and ')}` : null;
    /** @type {import('node:child_process').ChildProcessWithoutNullStreams[]} sandboxes started ahead, oldest first */
    this.warm = [];
    this.code = this.enabled ? codeMounts() : [];
    if (this.enabled && this.uid !== null && this.gid !== null) this.code.push(...userMounts(workdir, this.uid, this.gid, this.nodeDir));
    // (the launcher makes it, owned by the node's uid; an agent started by hand makes it here)
    mkdirSync(this.nodeDir, { recursive: true });
  }

  /**
   * The environment tenant processes get: the agent's, with a home and temp dir they can write.
   * @param {NodeJS.ProcessEnv} env
   * @returns {NodeJS.ProcessEnv}
   */
  env(env) {
    if (!this.enabled) return env;
    return { ...env, HOME: this.nodeDir, TMPDIR: '/tmp' };
  }

  /**
   * What to spawn for `argv` run in `cwd` (a directory of the node's, made if missing), with
   * `mounts` on top of the node's own view. Unconfined (SANDBOX=off): argv itself. Confined, the
   * directory is made by the node's uid inside its sandbox: the agent never writes where tenant
   * code could have put a link.
   * @param {string[]} argv
   * @param {{ cwd: string, mounts?: Mount[] }} options
   * @returns {{ file: string, args: string[], cwd: string }}
   */
  command(argv, { cwd, mounts = [] }) {
    if (!this.enabled) {
      mkdirSync(cwd, { recursive: true });
      return { file: argv[0], args: argv.slice(1), cwd };
    }
    if (!this.tool) throw new Error(this.problem ?? 'no sandbox tool');
    const { file, args } = sandboxedCommand({
      tool: this.tool,
      uid: this.uid,
      gid: this.gid,
      limits: this.procsFiles.length ? { procsFiles: this.procsFiles } : null,
      // the host's name, which the host's /etc/hosts resolves (Java's getLocalHost needs it)
      hostname: os.hostname(),
      cwd: this.nodeDir,
      mounts: [
        { type: 'tmpfs', target: '/tmp', mode: 0o1777 },
        ...this.code,
        { type: 'bind', source: this.nodeDir, target: this.nodeDir },
        ...mounts,
      ],
      // group-writable files: the buckets are shared by every node's uid (NODES_GID)
      argv: ['/bin/sh', '-c', 'umask 002 && mkdir -p -- "$0" && cd -- "$0" && exec "$@"', cwd, ...argv],
    });
    // the sandbox enters `cwd` itself; the outer chain starts where the agent's uid can be
    return { file, args, cwd: '/' };
  }

  /**
   * Starts sandboxes ahead of the next steps (their namespaces and mounts cost more than the rest of
   * a dispatch), up to `count` waiting: each a small Perl launcher waiting on its stdin for its step
   * (see WARM_LAUNCHER). Two waiting let steps follow one another faster than one sandbox sets up:
   * the one a step takes has been setting up since the step before the last. Steps that need nothing
   * but the node's own view take one (startWarm); the others start a sandbox of their own, and so
   * does every step where there is no Perl.
   * @param {NodeJS.ProcessEnv} env the environment every step starts from (the agent's)
   * @param {number} count
   */
  prewarm(env, count) {
    if (!this.enabled || !this.tool || !existsSync(PERL)) return;
    while (this.warm.length < count) {
      const run = this.command([PERL, '-e', WARM_LAUNCHER], { cwd: path.join(this.nodeDir, 'steps') });
      const child = spawn(run.file, run.args, {
        cwd: run.cwd,
        env: this.env(env),
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
      const forget = () => {
        this.warm = this.warm.filter((c) => c !== child);
      };
      child.on('error', forget);
      child.stdin.on('error', () => {});
      child.once('exit', forget);
      this.warm.push(child);
    }
  }

  /**
   * Runs `argv` in `cwd` with `env` in the oldest sandbox started ahead, if there is one (and nothing
   * holds a NUL byte, which spawn refuses and which would shift the launcher's fields); null otherwise.
   * @param {string[]} argv @param {string} cwd @param {NodeJS.ProcessEnv} env
   */
  startWarm(argv, cwd, env) {
    const child = this.warm.find((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined);
    if (!child) return null;
    const entries = Object.entries(this.env(env))
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const fields = [cwd, String(entries.length), ...entries, ...argv];
    if (fields.some((f) => f.includes('\0'))) return null;
    this.warm = this.warm.filter((c) => c !== child);
    const input = Buffer.from([...fields, ''].join('\0'));
    child.stdin.end(Buffer.concat([Buffer.from(`${input.length}\n`), input]));
    return child;
  }

  /** Ends the sandboxes started ahead (the agent is leaving). */
  close() {
    for (const child of this.warm) child.kill('SIGKILL');
    this.warm = [];
  }

  /** How many processes of the node the kernel killed for memory so far (0 without limits). */
  oomKills() {
    return this.limits?.oomKills() ?? 0;
  }

  /**
   * The host pid of the command a sandbox started as `pid` runs (the process itself, unconfined).
   * @param {number} pid
   */
  mainPid(pid) {
    return this.enabled ? sandboxMainPid(pid) : pid;
  }

  /**
   * A graceful stop: `signal` to every process inside the sandbox started as `pid` (not to bwrap,
   * which would end the sandbox at once); SIGKILL ends the sandbox, everything in it. Unconfined:
   * to `pid` alone.
   * @param {number} pid @param {NodeJS.Signals} signal
   */
  signal(pid, signal) {
    if (this.enabled && signal !== 'SIGKILL') {
      signalSandbox(pid, signal);
      return;
    }
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}
