import { interpreterFor } from '../../engine/agent/bootstrap.js';
import { badInput } from '../errors.js';
import { requireArgs } from './command.js';
import type { PreparedStep, StepKind } from './types.js';

export interface ScriptInput { uri: string; args?: string[] | null }

/**
 * script-runner: a script from a bucket, run by the interpreter its extension or #! line names
 * (the same rule as bootstrap actions). The object must exist when the step is added.
 */
export const scriptStep: StepKind = {
  async prepare(input, field, ctx): Promise<PreparedStep> {
    const { uri, args } = input as ScriptInput;
    const userArgs = requireArgs(args ?? [], `${field}.args`, 0);
    const { path } = await ctx.storage.resolveUri(uri, `${field}.uri`);
    let argv: string[];
    try {
      argv = interpreterFor(path, ctx.python);
    } catch (err) {
      throw badInput(`${field}.uri`, `can't tell how to run ${uri}: ${(err as Error).message}; use .sh, .py, .js or .mjs, or a #! line`);
    }
    return { args: [...argv, ...userArgs], env: {}, source: { uri, args: userArgs } };
  },
};
