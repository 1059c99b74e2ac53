// The form that adds a step to a cluster, one kind at a time: a command (bash), a script from a
// bucket, a Spark application or a SQL query (what addSteps' StepInput takes for each kind). The
// API checks every field; its errors are shown with the field they name.
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ActionOnFailure, StepInput } from '../../../src/client/gql/graphql.js';
import { Problems } from './common';
import { linesOf, useFields } from './forms';

const ConsoleAddStep = graphql(`
  mutation ConsoleAddStep($input: AddStepsInput!) {
    addSteps(input: $input) {
      steps {
        id
        state
      }
    }
  }
`);

type Kind = 'command' | 'script' | 'spark' | 'sql';
const KINDS: Record<Kind, string> = { command: 'Command', script: 'Script', spark: 'Spark', sql: 'SQL' };
const ACTIONS: ActionOnFailure[] = ['CONTINUE', 'CANCEL_AND_WAIT', 'TERMINATE_CLUSTER'];

/** `key=value` lines as an object (Spark's conf); a line without `=` is sent as a key with an empty value, for the API to judge. */
const confOf = (text: string): Record<string, string> | undefined => {
  const lines = linesOf(text);
  if (!lines.length) return undefined;
  return Object.fromEntries(
    lines.map((l) => [
      l.slice(0, l.indexOf('=') < 0 ? l.length : l.indexOf('=')).trim(),
      l.includes('=') ? l.slice(l.indexOf('=') + 1).trim() : '',
    ]),
  );
};

export function AddStep({ clusterId, onAdded }: { clusterId: string; onAdded: (stepId: string) => void }) {
  const [kind, setKind] = useState<Kind>('command');
  const [name, setName] = useState('');
  const [actionOnFailure, setActionOnFailure] = useState<ActionOnFailure>('CONTINUE');
  const [result, add] = useMutation(ConsoleAddStep);
  const { field, bind, optional } = useFields();

  const stepOf = (): StepInput => {
    const base = { name, actionOnFailure };
    switch (kind) {
      case 'command':
        return { ...base, command: { args: ['bash', '-c', field('command')] } };
      case 'script':
        return { ...base, script: { uri: field('uri').trim(), args: linesOf(field('args')) } };
      case 'spark':
        return {
          ...base,
          spark: {
            appUri: field('appUri').trim(),
            mainClass: optional('mainClass'),
            args: linesOf(field('args')),
            packages: linesOf(field('packages')),
            jars: linesOf(field('jars')),
            pyFiles: linesOf(field('pyFiles')),
            files: linesOf(field('files')),
            archives: linesOf(field('archives')),
            conf: confOf(field('conf')),
          },
        };
      case 'sql':
        return { ...base, sql: { query: field('query'), outputUri: optional('outputUri'), format: optional('format') } };
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await add({ input: { clusterId, steps: [stepOf()] } });
    const step = data?.addSteps.steps[0];
    if (step) onAdded(step.id);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="add a step">
      <h3>Add a step</h3>
      <fieldset className="kinds" aria-label="step kind">
        {(Object.keys(KINDS) as Kind[]).map((k) => (
          <label key={k}>
            <input type="radio" name="stepKind" checked={kind === k} onChange={() => setKind(k)} /> {KINDS[k]}
          </label>
        ))}
      </fieldset>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} name="stepName" />
      </label>
      <label>
        On failure{' '}
        <select value={actionOnFailure} onChange={(e) => setActionOnFailure(e.target.value as ActionOnFailure)}>
          {ACTIONS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
      </label>
      {kind === 'command' ? (
        <label className="wide">
          Command (bash) <input {...bind('command')} name="command" />
        </label>
      ) : null}
      {kind === 'script' ? (
        <>
          <label className="wide">
            Script URI <input {...bind('uri')} placeholder="s3://bucket/jobs/run.sh (.sh, .py, .js, or a #! line)" />
          </label>
          <label>
            Arguments (one a line) <textarea {...bind('args')} rows={3} />
          </label>
        </>
      ) : null}
      {kind === 'spark' ? (
        <>
          <label className="wide">
            Application URI <input {...bind('appUri')} placeholder="s3://bucket/apps/wordcount.py or .jar" />
          </label>
          <label>
            Main class (.jar) <input {...bind('mainClass')} />
          </label>
          <label>
            Arguments (one a line) <textarea {...bind('args')} rows={3} />
          </label>
          <label>
            Packages (group:artifact:version, one a line) <textarea {...bind('packages')} rows={2} />
          </label>
          <label>
            Jars (s3://…, one a line) <textarea {...bind('jars')} rows={2} />
          </label>
          <label>
            Python files (.py/.zip/.egg) <textarea {...bind('pyFiles')} rows={2} />
          </label>
          <label>
            Files <textarea {...bind('files')} rows={2} />
          </label>
          <label>
            Archives (uri#alias) <textarea {...bind('archives')} rows={2} />
          </label>
          <label>
            Configuration (spark.key=value, one a line) <textarea {...bind('conf')} rows={2} />
          </label>
        </>
      ) : null}
      {kind === 'sql' ? (
        <>
          <label className="wide">
            Query <textarea {...bind('query')} rows={4} className="code" placeholder="SELECT … FROM read_csv('s3://bucket/data/*.csv')" />
          </label>
          <label className="wide">
            Output URI <input {...bind('outputUri')} placeholder="s3://bucket/out/ (optional)" />
          </label>
          <label>
            Format{' '}
            <select {...bind('format')}>
              <option value="">PARQUET (default)</option>
              <option>CSV</option>
            </select>
          </label>
        </>
      ) : null}
      <button type="submit" disabled={result.fetching}>
        Add step
      </button>
      <Problems error={result.error} />
    </form>
  );
}
