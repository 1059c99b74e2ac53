// @ts-check
// Bootstrap actions: scripts from buckets, run one after the other before the node takes part in
// anything (docs/agent-protocol.md "Node configuration"). Each is a local file the control plane
// resolved (the node shares the server's disk) or an object the agent fetches into the node's
// directory over the S3 endpoint (OBJECT_PATH_MAPPING=off, a joined host).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';

const TAIL_LINES = 20;
/** How many first bytes of a script the interpreter rule may look at (its #! line). */
export const SCRIPT_HEAD_BYTES = 256;

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
 * How to run a script named `name`: by its extension, else by the #! line its first bytes start
 * with (`head` is only asked for then). The one rule of SCRIPT steps and bootstrap actions; the
 * server applies it to an object's key and first bytes, the agent to a file.
 * @param {string} name @param {string | null} python @param {string} node the node binary (.js, .mjs)
 * @param {() => Buffer} head
 * @returns {string[]} the interpreter's argv, before the script
 */
export function scriptInterpreter(name, python, node, head) {
  if (/\.(sh|bash)$/.test(name)) return ['bash'];
  if (/\.py$/.test(name)) return [python ?? 'python3'];
  if (/\.(js|mjs)$/.test(name)) return [node];
  const first = head().toString().split('\n')[0] ?? '';
  if (!first.startsWith('#!')) throw new Error(`${path.posix.basename(name)} has no known extension and no #! line`);
  return first.slice(2).trim().split(/\s+/);
}

/**
 * How to run a local script file (scriptInterpreter's rule, this process's node).
 * @param {string} file @param {string | null} python
 * @returns {string[]} the argv before the script's own arguments
 */
export function interpreterFor(file, python) {
  return [...scriptInterpreter(file, python, process.execPath, () => readHead(file)), file];
}

/** The first bytes of `file` (a #! line). @param {string} file */
function readHead(file) {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SCRIPT_HEAD_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, SCRIPT_HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs each action to completion, in order, in the node's sandbox (the script's file bound in
 * read-only); throws BootstrapFailure at the first that fails. An action without a local `path`
 * is fetched from its `uri` first, into <node dir>/bootstrap/actions/. Its output goes to
 * <workdir>/bootstrap.log (the agent's: the action only has the pipe). A sandbox ends with its
 * action, whatever the action left running.
 * @param {Array<{name: string, uri: string, path: string | null, args: string[]}>} actions
 * @param {{ workdir: string, python: string | null, env: NodeJS.ProcessEnv, sandbox: import('./node-sandbox.js').NodeSandbox,
 *   log: (msg: string, fields?: Record<string, unknown>) => void,
 *   fetch: (uri: string, file: string) => Promise<{ bytes: number, head: Buffer }> }} options
 */
export async function runBootstrapActions(actions, { workdir, python, env, sandbox, log, fetch }) {
  if (actions.length === 0) return;
  const cwd = path.join(sandbox.nodeDir, 'bootstrap');
  const logFd = openSync(path.join(workdir, 'bootstrap.log'), 'a');
  try {
    for (const [i, action] of actions.entries()) {
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
      out(`--- ${new Date().toISOString()} bootstrap action "${action.name}": ${action.path ?? action.uri} ${action.args.join(' ')}\n`);
      log('running bootstrap action', { action: action.name, path: action.path, uri: action.uri });
      let argv;
      try {
        if (action.path !== null) {
          argv = interpreterFor(action.path, python);
        } else {
          // the key's last segment keeps its extension (the interpreter rule); the index keeps two apart
          const file = path.join(cwd, 'actions', `${i + 1}-${path.posix.basename(action.uri).replace(/[^A-Za-z0-9._-]/g, '_')}`);
          const { bytes, head } = await fetch(action.uri, file);
          out(`fetched ${action.uri} (${bytes} bytes) to ${file}\n`);
          argv = [...scriptInterpreter(file, python, process.execPath, () => head), file];
        }
      } catch (err) {
        out(`${err instanceof Error ? err.message : String(err)}\n`);
        throw new BootstrapFailure(action.name, null, tail.text);
      }
      const script = argv[argv.length - 1];
      const code = await new Promise((resolve) => {
        const run = sandbox.command([...argv, ...action.args], {
          cwd,
          mounts: [{ type: 'ro-bind', source: script, target: script }],
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
