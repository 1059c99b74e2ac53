import type { BootstrapAction } from '../db/rows.js';
import { interpreterFor } from '../engine/agent/bootstrap.js';
import { badInput } from './errors.js';
import type { StorageService } from './storage.js';
import { requireArgs } from './step-kinds/command.js';
import { requireList, requireName } from './validate.js';

export interface BootstrapActionInput { name: string; path: string; args?: string[] | null }

/** EMR allows 16 bootstrap actions per cluster. */
export const MAX_BOOTSTRAP_ACTIONS = 16;

/** Checks bootstrap actions: named, each script an existing object, args like a step's. */
export async function validateBootstrapActions(
  input: readonly BootstrapActionInput[] | null | undefined, field: string, storage: StorageService,
): Promise<BootstrapAction[]> {
  const actions = input ?? [];
  requireList(actions, field, 0, MAX_BOOTSTRAP_ACTIONS);
  const valid: BootstrapAction[] = [];
  for (const [i, a] of actions.entries()) {
    const f = `${field}.${i}`;
    const name = requireName(a.name, `${f}.name`);
    const { path } = await storage.resolveUri(a.path, `${f}.path`);
    try {
      // the node runs it the same way (engine/agent/bootstrap.js)
      interpreterFor(path, null);
    } catch {
      throw badInput(`${f}.path`, 'must be a .sh, .py, .js or .mjs script or start with a #! line');
    }
    valid.push({ name, path: a.path, args: requireArgs(a.args ?? [], `${f}.args`, 0) });
  }
  return valid;
}

