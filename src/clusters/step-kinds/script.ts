import path from 'node:path';
import { SCRIPT_HEAD_BYTES, scriptInterpreter } from '../../engine/agent/bootstrap.js';
import { STEP_ARG_NODE, STEP_ARG_PYTHON } from '../../engine/types.js';
import { badInput } from '../../platform/errors.js';
import type { StorageService } from '../../storage/service.js';
import { objectFilePath, parseS3Uri } from '../../storage/s3-uri.js';
import { requireArgs } from './command.js';
import type { PreparedStep, StepKind } from './types.js';

export interface ScriptInput {
  uri: string;
  args?: string[] | null;
}

/**
 * How to run the script stored at `uri`: its location and the interpreter's argv, by its key's
 * extension or the #! line of its first bytes (the rule of engine/agent/bootstrap.js, shared by
 * SCRIPT steps and bootstrap actions; a .js script runs on the node's own node, a .py one on the
 * node's own python, whichever host it is on). NOT_FOUND when there is no object.
 */
export async function scriptInterpreterOf(
  storage: StorageService,
  uri: string,
  field: string,
): Promise<{ bucket: string; key: string; interpreter: string[] }> {
  const { bucket, key } = parseS3Uri(uri, field);
  const opened = await storage.open(bucket, key, { bucket: field, key: field });
  let head: Buffer;
  try {
    const buf = Buffer.alloc(SCRIPT_HEAD_BYTES);
    head = buf.subarray(0, (await opened.file.read(buf, 0, SCRIPT_HEAD_BYTES, 0)).bytesRead);
  } finally {
    await opened.file.close();
  }
  try {
    return { bucket, key, interpreter: scriptInterpreter(key, STEP_ARG_PYTHON, STEP_ARG_NODE, () => head) };
  } catch (err) {
    throw badInput(field, `can't tell how to run ${uri}: ${(err as Error).message}; use .sh, .py, .js or .mjs, or a #! line`);
  }
}

/**
 * script-runner: a script from a bucket, run by the interpreter its extension or #! line names
 * (the same rule as bootstrap actions). The object must exist when the step is added. With the
 * path mapping the node reads the object's file (bound in read-only); without it the node fetches
 * the object over the S3 endpoint into the step's directory and runs that copy.
 */
export const scriptStep: StepKind = {
  async prepare(input, field, ctx): Promise<PreparedStep> {
    const { uri, args } = input as ScriptInput;
    const userArgs = requireArgs(args ?? [], `${field}.args`, 0);
    const { bucket, key, interpreter } = await scriptInterpreterOf(ctx.storage, uri, `${field}.uri`);
    const source = { uri, args: userArgs };
    if (!ctx.objectPathMapping) {
      // its name in the step's directory: the key's last segment (its extension kept)
      const name = path.posix
        .basename(key)
        .replace(/[^A-Za-z0-9._-]/g, '_')
        .replace(/^\.+/, '_');
      return { args: [...interpreter, `./${name}`, ...userArgs], env: {}, source, fetch: [{ uri, path: name }] };
    }
    const script = objectFilePath(ctx.bucketsDir, bucket, key);
    return {
      args: [...interpreter, script, ...userArgs],
      env: {},
      source,
      // the script's own file, read-only, and nothing else of the buckets
      mounts: [{ type: 'ro-bind', source: script, target: script }],
    };
  },
};
