import { badInput } from '../errors.js';
import { commandStep } from './command.js';
import { scriptStep } from './script.js';
import type { StepKind } from './types.js';

export type StepKindName = 'COMMAND' | 'SCRIPT' | 'SPARK' | 'SQL';

const notYet = (message: string): StepKind => ({
  async prepare(_input, field) { throw badInput(field, message); },
});

/** Each GraphQL StepInput field and the kind that runs it. */
export const STEP_KINDS: Record<'command' | 'script' | 'spark' | 'sql', { name: StepKindName; kind: StepKind }> = {
  command: { name: 'COMMAND', kind: commandStep },
  script: { name: 'SCRIPT', kind: scriptStep },
  spark: { name: 'SPARK', kind: notYet('spark steps need a SPARK cluster, which this engine does not provide yet') },
  sql: { name: 'SQL', kind: notYet('sql steps need DuckDB, which this engine does not provide yet') },
};

export type { PreparedStep, StepKind, StepKindContext } from './types.js';
