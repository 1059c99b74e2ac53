import type { BootstrapAction } from './tables.js';
import type { StorageService } from '../storage/service.js';
import { requireArgs } from './step-kinds/command.js';
import { scriptInterpreterOf } from './step-kinds/script.js';
import { requireList, requireName } from '../platform/validate.js';

export interface BootstrapActionInput {
  name: string;
  path: string;
  args?: string[] | null;
}

/** EMR allows 16 bootstrap actions per cluster. */
export const MAX_BOOTSTRAP_ACTIONS = 16;

/** Checks bootstrap actions: named, each script an existing object, args like a step's. */
export async function validateBootstrapActions(
  input: readonly BootstrapActionInput[] | null | undefined,
  field: string,
  storage: StorageService,
): Promise<BootstrapAction[]> {
  const actions = input ?? [];
  requireList(actions, field, 0, MAX_BOOTSTRAP_ACTIONS);
  const valid: BootstrapAction[] = [];
  for (const [i, a] of actions.entries()) {
    const f = `${field}.${i}`;
    const name = requireName(a.name, `${f}.name`);
    // the node resolves the interpreter itself when it runs the action
    await scriptInterpreterOf(storage, a.path, `${f}.path`);
    valid.push({ name, path: a.path, args: requireArgs(a.args ?? [], `${f}.args`, 0) });
  }
  return valid;
}
