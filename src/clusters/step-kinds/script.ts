import { interpreterFor } from '../../engine/agent/bootstrap.js';
import { badInput } from '../../platform/errors.js';
import type { StorageService } from '../../storage/service.js';
import { requireArgs } from './command.js';
import type { PreparedStep, StepKind } from './types.js';

export interface ScriptInput {
  uri: string;
  args?: string[] | null;
}

/**
 * A script stored at `uri` and the argv that runs it, by its extension or #! line (the rule of
 * engine/agent/bootstrap.js, shared by SCRIPT steps and bootstrap actions).
 */
export async function scriptCommand(storage: StorageService, uri: string, field: string, python: string | null): Promise<string[]> {
  const { path } = await storage.resolveUri(uri, field);
  try {
    return interpreterFor(path, python);
  } catch (err) {
    throw badInput(field, `can't tell how to run ${uri}: ${(err as Error).message}; use .sh, .py, .js or .mjs, or a #! line`);
  }
}

/**
 * script-runner: a script from a bucket, run by the interpreter its extension or #! line names
 * (the same rule as bootstrap actions). The object must exist when the step is added.
 */
export const scriptStep: StepKind = {
  async prepare(input, field, ctx): Promise<PreparedStep> {
    const { uri, args } = input as ScriptInput;
    const userArgs = requireArgs(args ?? [], `${field}.args`, 0);
    const argv = await scriptCommand(ctx.storage, uri, `${field}.uri`, ctx.python);
    const script = argv[argv.length - 1]!;
    return {
      args: [...argv, ...userArgs],
      env: {},
      source: { uri, args: userArgs },
      // the script's own file, read-only, and nothing else of the buckets
      mounts: [{ type: 'ro-bind', source: script, target: script }],
    };
  },
};
