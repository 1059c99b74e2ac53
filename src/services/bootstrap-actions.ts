import { closeSync, openSync, readSync } from 'node:fs';
import type { BootstrapAction } from '../db/rows.js';
import { badInput } from './errors.js';
import { requireObjectFile } from './local-objects.js';
import { requireArgs } from './step-kinds/command.js';
import { requireList, requireName } from './validate.js';

export interface BootstrapActionInput { name: string; path: string; args?: string[] | null }

/** EMR allows 16 bootstrap actions per cluster. */
export const MAX_BOOTSTRAP_ACTIONS = 16;
const INTERPRETED = /\.(sh|bash|py|js|mjs)$/;

/** Checks bootstrap actions: named, each script an existing object, args like a step's. */
export function validateBootstrapActions(input: readonly BootstrapActionInput[] | null | undefined, field: string, bucketsDir: string): BootstrapAction[] {
  const actions = input ?? [];
  requireList(actions, field, 0, MAX_BOOTSTRAP_ACTIONS);
  return actions.map((a, i) => {
    const f = `${field}.${i}`;
    const name = requireName(a.name, `${f}.name`);
    const { file } = requireObjectFile(bucketsDir, a.path, `${f}.path`);
    if (!INTERPRETED.test(a.path) && !hasShebang(file)) {
      throw badInput(`${f}.path`, 'must be a .sh, .py, .js or .mjs script or start with a #! line');
    }
    return { name, path: a.path, args: requireArgs(a.args ?? [], `${f}.args`, 0) };
  });
}

function hasShebang(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    return readSync(fd, buf, 0, 2, 0) === 2 && buf.toString() === '#!';
  } finally {
    closeSync(fd);
  }
}
