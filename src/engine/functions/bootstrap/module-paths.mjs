// @ts-check
// Where handlers find modules they don't package, as on Lambda: NODE_PATH (layers' nodejs/
// node_modules, then the runtime's AWS SDK for JavaScript) holds for require() by itself; Node's ESM
// loader ignores it, so for an ES module handler this file is also a resolve hook: a bare specifier
// the handler's own node_modules lack is looked up in each NODE_PATH directory in order. The hook
// runs in Node's hooks thread, which costs a cold start tens of milliseconds: it is registered only
// for ES module handlers, and only when NODE_PATH has a node_modules directory Node's own lookup does
// not reach (layers'; a sandboxed function without layers also has the SDK at /node_modules, an
// ancestor of /var/task).
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** not relative, absolute or a URL (node:, file:, data:…) */
const BARE = /^(?![./]|[a-zA-Z][a-zA-Z0-9+.-]*:)/;
const NODE_PATH = (process.env.NODE_PATH ?? '').split(':').filter(Boolean);

/** @type {string[]} the hook's copy of NODE_PATH */
let dirs = [];

/** @param {{ dirs: string[] }} data */
export function initialize(data) {
  dirs = data.dirs;
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<unknown>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (/** @type {{ code?: string }} */ (err)?.code !== 'ERR_MODULE_NOT_FOUND' || !BARE.test(specifier)) throw err;
    for (const dir of dirs) {
      try {
        // resolving from a file in the directory looks in the directory itself first
        return await nextResolve(specifier, { ...context, parentURL: pathToFileURL(path.join(dir, 'index.mjs')).href });
      } catch (e) {
        if (/** @type {{ code?: string }} */ (e)?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
      }
    }
    throw err;
  }
}

/** @param {string} file */
function isEsModule(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch {
      if (dir === path.dirname(dir)) return false;
    }
  }
}

/** Before the handler `file` is imported: NODE_PATH for its ES module imports too. */
export function useNodePath(/** @type {string} */ file) {
  // a sandbox without layers links the runtime's SDK at /node_modules, which Node's own lookup reaches
  const sdkReachable = fs.existsSync('/node_modules/@aws-sdk');
  const modules = NODE_PATH.some(
    (dir) => dir.endsWith('node_modules') && fs.existsSync(dir) && !(sdkReachable && dir === '/var/runtime/node_modules'),
  );
  if (modules && isEsModule(file)) register('./module-paths.mjs', import.meta.url, { data: { dirs: NODE_PATH } });
}

/** An import error's message, with the one command to run when it is the AWS SDK that this host lacks. */
export function withSdkHint(/** @type {string} */ message) {
  if (!/Cannot find (module|package) '@aws-sdk\//.test(message)) return message;
  if (NODE_PATH.some((dir) => fs.existsSync(path.join(dir, '@aws-sdk')))) return message;
  return `${message} (the AWS SDK for JavaScript that Lambda's runtime includes is not installed on this host: run \`npm run functions:install\` there)`;
}
