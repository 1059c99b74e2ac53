// @ts-check
// What a runStep names in the agent's own install instead of the server's paths (the node may run
// on another host, docs/agent-protocol.md "Messages"), and which objects it may fetch to where.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** An argument that is the agent's own node binary. */
export const STEP_ARG_NODE = '{{node}}';
/** An argument that is the node's python3 (from its host's install; `python3` when it has none). */
export const STEP_ARG_PYTHON = '{{python}}';
/** The prefix (followed by `/`) of a file below the agent's engine directory. */
export const STEP_ARG_ENGINE = '{{engine}}';

/** This install's engine directory (src/engine or dist/engine): the runners a step may name. */
export const ENGINE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * `args` with STEP_ARG_NODE, STEP_ARG_PYTHON and `STEP_ARG_ENGINE/…` made this host's paths;
 * anything else as is (a step stored before, with the server's absolute paths, still runs on the
 * server's host). Throws for an engine path that leaves the engine directory.
 * @param {string[]} args @param {{ node: string, engineDir: string, python: string | null }} install
 * @returns {string[]}
 */
export function resolveStepArgs(args, { node, engineDir, python }) {
  const prefix = `${STEP_ARG_ENGINE}/`;
  return args.map((arg) => {
    if (arg === STEP_ARG_NODE) return node;
    if (arg === STEP_ARG_PYTHON) return python ?? 'python3';
    if (!arg.startsWith(prefix)) return arg;
    const file = path.resolve(engineDir, arg.slice(prefix.length));
    const inside = path.relative(engineDir, file);
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
      throw new Error(`${JSON.stringify(arg)} is not a file inside the engine directory`);
    }
    return file;
  });
}

/**
 * The file a fetched object goes to: `relative` below `dir`, refused when it is absolute, has
 * empty, `.` or `..` segments, or control characters (it must not leave the step's directory).
 * @param {string} dir @param {unknown} relative
 */
export function fetchTarget(dir, relative) {
  if (typeof relative !== 'string' || relative === '' || Buffer.byteLength(relative) > 1024) {
    throw new Error(`fetch path ${JSON.stringify(relative)} must be a non-empty relative path`);
  }
  const segments = relative.split('/');
  // eslint-disable-next-line no-control-regex
  if (relative.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(relative) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`fetch path ${JSON.stringify(relative)} must stay inside the step's directory (no leading /, no . or .. segments)`);
  }
  return path.join(dir, ...segments);
}

/** `s3://bucket/key` → its parts (the key must name an object, not a prefix). @param {unknown} uri */
export function parseObjectUri(uri) {
  const m = typeof uri === 'string' ? /^s3a?:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
  if (!m || m[2].endsWith('/')) throw new Error(`${JSON.stringify(uri)} is not an s3://bucket/key URI of an object`);
  return { bucket: m[1], key: m[2] };
}
