import { commandStep } from './command.js';
import { scriptStep } from './script.js';
import { sparkStep } from '../spark/step-kind.js';
import type { StepKind, StepKinds } from './types.js';

/** The kinds a cluster runs: its own, and SQL steps from the sql module (DuckDB on the master node). */
export function stepKinds(sqlStep: StepKind): StepKinds {
  return {
    command: { name: 'COMMAND', kind: commandStep },
    script: { name: 'SCRIPT', kind: scriptStep },
    spark: { name: 'SPARK', kind: sparkStep },
    sql: { name: 'SQL', kind: sqlStep },
  };
}

export type { StepKind, StepKindContext, StepKindName, StepKinds } from './types.js';
