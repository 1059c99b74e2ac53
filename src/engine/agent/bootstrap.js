// @ts-check
// Bootstrap actions: scripts the control plane resolved to local files, run one after the other
// before the node takes part in anything (docs/agent-protocol.md "Node configuration").
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';

const TAIL_LINES = 20;

/** A bootstrap action (or a daemon the node starts) that failed: reported as `bootstrapFailed`. */
export class BootstrapFailure extends Error {
  /** @param {string} action @param {number | null} exitCode @param {string[]} logTail */
  constructor(action, exitCode, logTail) {
    super(`${action} failed (${exitCode === null ? 'could not run' : `exit code ${exitCode}`})`);
    this.action = action;
    this.exitCode = exitCode;
    this.logTail = logTail;
  }
}

/** The last lines of some output, kept while it streams. */
export class Tail {
  constructor(max = TAIL_LINES) {
    this.max = max;
    /** @type {string[]} */
    this.lines = [];
    this.partial = '';
  }

  /** @param {Buffer | string} chunk */
  push(chunk) {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }

  get text() {
    return this.partial ? [...this.lines, this.partial].slice(-this.max) : [...this.lines];
  }
}

/**
 * How to run a script: by extension, else by its #! line.
 * @param {string} file @param {string | null} python
 * @returns {string[]} the argv before the script's own arguments
 */
export function interpreterFor(file, python) {
  if (/\.(sh|bash)$/.test(file)) return ['bash', file];
  if (/\.py$/.test(file)) return [python ?? 'python3', file];
  if (/\.(js|mjs)$/.test(file)) return [process.execPath, file];
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const first =
      buf
        .subarray(0, readSync(fd, buf, 0, 256, 0))
        .toString()
        .split('\n')[0] ?? '';
    if (!first.startsWith('#!')) throw new Error(`${path.basename(file)} has no known extension and no #! line`);
    return [...first.slice(2).trim().split(/\s+/), file];
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs each action to completion, in order, in the node's sandbox (the script's file bound in
 * read-only); throws BootstrapFailure at the first that fails. Its output goes to
 * <workdir>/bootstrap.log (the agent's: the action only has the pipe). A sandbox ends with its
 * action, whatever the action left running.
 * @param {Array<{name: string, path: string, args: string[]}>} actions
 * @param {{ workdir: string, python: string | null, env: NodeJS.ProcessEnv, sandbox: import('./node-sandbox.js').NodeSandbox,
 *   log: (msg: string, fields?: Record<string, unknown>) => void }} options
 */
export async function runBootstrapActions(actions, { workdir, python, env, sandbox, log }) {
  if (actions.length === 0) return;
  const cwd = path.join(sandbox.nodeDir, 'bootstrap');
  const logFd = openSync(path.join(workdir, 'bootstrap.log'), 'a');
  try {
    for (const action of actions) {
      const tail = new Tail();
      /** @param {Buffer | string} chunk */
      const out = (chunk) => {
        tail.push(chunk);
        try {
          writeSync(logFd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        } catch {
          /* the tail still has it */
        }
      };
      out(`--- ${new Date().toISOString()} bootstrap action "${action.name}": ${action.path} ${action.args.join(' ')}\n`);
      log('running bootstrap action', { action: action.name, path: action.path });
      let argv;
      try {
        argv = interpreterFor(action.path, python);
      } catch (err) {
        out(`${err instanceof Error ? err.message : String(err)}\n`);
        throw new BootstrapFailure(action.name, null, tail.text);
      }
      const code = await new Promise((resolve) => {
        const run = sandbox.command([...argv, ...action.args], {
          cwd,
          mounts: [{ type: 'ro-bind', source: action.path, target: action.path }],
        });
        const child = spawn(run.file, run.args, {
          cwd: run.cwd,
          env: sandbox.env({ ...env, BOOTSTRAP_ACTION_NAME: action.name }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', out);
        child.stderr.on('data', out);
        child.once('error', (err) => {
          out(`cannot run ${argv[0]}: ${err.message}\n`);
          resolve(null);
        });
        child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : null)));
      });
      if (code !== 0) throw new BootstrapFailure(action.name, /** @type {number | null} */ (code), tail.text);
    }
  } finally {
    closeSync(logFd);
  }
}
