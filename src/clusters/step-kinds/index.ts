import { commandStep } from './command.js';
import { scriptStep } from './script.js';
import { sparkStep } from '../spark/step-kind.js';
import type { StepKind } from './types.js';

export type StepKindName = 'COMMAND' | 'SCRIPT' | 'SPARK' | 'SQL';

/** Each GraphQL StepInput field and the kind that runs it. */
export type StepKinds = Record<'command' | 'script' | 'spark' | 'sql', { name: StepKindName; kind: StepKind }>;

/** The kinds a cluster runs: its own, and SQL steps from the sql module (DuckDB on the master node). */
export function stepKinds(sqlStep: StepKind): StepKinds {
  return {
    command: { name: 'COMMAND', kind: commandStep },
    script: { name: 'SCRIPT', kind: scriptStep },
    spark: { name: 'SPARK', kind: sparkStep },
    sql: { name: 'SQL', kind: sqlStep },
  };
}

export type { PreparedStep, StepKind, StepKindContext } from './types.js';
