import { badInput } from '../../platform/errors.js';
import { Limits, requireEnv, requireList } from '../../platform/validate.js';
import type { PreparedStep, StepKind } from './types.js';

export interface CommandInput {
  args: string[];
  env?: unknown;
}

/** argv checks shared by every kind that passes user arguments to a program */
export function requireArgs(args: readonly string[], field: string, min: number): string[] {
  requireList(args, field, min, Limits.argCount);
  args.forEach((a, j) => {
    if (a.length > Limits.argLength) throw badInput(`${field}.${j}`, `must be at most ${Limits.argLength} characters`);
    if (a.includes('\0')) throw badInput(`${field}.${j}`, 'must not contain NUL');
  });
  return [...args];
}

export const commandStep: StepKind = {
  async prepare(input, field): Promise<PreparedStep> {
    const { args, env } = input as CommandInput;
    requireArgs(args, `${field}.args`, 1);
    if (!args[0]!.trim()) throw badInput(`${field}.args.0`, 'the program must not be empty');
    return { args: [...args], env: requireEnv(env, `${field}.env`) };
  },
};
