// emberplane steps add|list|logs|cancel
import { Command, Option } from 'commander';
import type { EmberplaneClient } from '../../client/client.js';
import { followStep, STEP_ENDED } from '../../client/follow.js';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { graphql } from '../../client/gql/index.js';
import type { ActionOnFailure, StepInput, StepState } from '../../client/gql/graphql.js';
import { CliError, collect, contextOf, EXIT, pairs, wholeNumber } from '../context.js';
import { printLine, printRecord, printRows, type OutputFormat } from '../output.js';

const AddSteps = graphql(`
  mutation AddSteps($input: AddStepsInput!) {
    addSteps(input: $input) {
      steps {
        id
        name
        kind
        state
      }
    }
  }
`);

const ListSteps = graphql(`
  query ListSteps($id: ID!, $first: Int, $after: String) {
    cluster(id: $id) {
      steps(first: $first, after: $after) {
        edges {
          node {
            id
            name
            kind
            state
            progress
            exitCode
            createdAt
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

const StepOutcome = graphql(`
  query StepOutcome($id: ID!) {
    step(id: $id) {
      id
      name
      state
      exitCode
      failureDetails {
        reason
        message
      }
    }
  }
`);

const CancelSteps = graphql(`
  mutation CancelSteps($input: CancelStepsInput!) {
    cancelSteps(input: $input) {
      results {
        stepId
        status
        reason
      }
    }
  }
`);

/** Prints the step's log to stdout until it ends; returns its final state. */
async function printLog(client: EmberplaneClient, stepId: string, output: OutputFormat, tail?: number): Promise<StepState> {
  const lines = followStep(client, stepId, { tail });
  for (;;) {
    const next = await lines.next();
    if (next.done) return next.value;
    const l = next.value;
    printLine(output, l);
  }
}

/** Exit code 1 unless the step COMPLETED, with its failure on stderr. */
async function judge(client: EmberplaneClient, stepId: string): Promise<void> {
  const { step } = await client.request(StepOutcome, { id: stepId });
  if (!step || step.state === 'COMPLETED') return;
  const why =
    step.failureDetails?.message ??
    (step.exitCode !== null && step.exitCode !== undefined ? `exit code ${step.exitCode}` : 'no reason given');
  throw new CliError(`step ${stepId} (${step.name}) ended ${step.state}: ${why}`, EXIT.FAILED);
}

export function stepsCommand(): Command {
  const steps = new Command('steps').description("add, list, follow and cancel a cluster's steps");

  steps
    .command('add')
    .description('add a step: a command (after --), a script, a Spark application or a SQL query (exactly one)')
    .argument('<cluster-id>')
    .argument('[argv...]', 'a command step: the program and its arguments, after -- (no shell: use -- bash -c "…" for one)')
    .requiredOption('--name <name>', 'the step name')
    .option('--script <uri>', 'a script to run (s3://bucket/key)')
    .option('--spark <app-uri>', 'a Spark application (s3://…/app.py or .jar)')
    .option('--sql <query>', 'a SQL query (DuckDB)')
    .option('--output-uri <uri>', 'SQL: where to write the result (s3://bucket/prefix/)')
    .option('--arg <value>', 'an argument for --script or --spark (repeatable)', collect)
    .option('--conf <k=v>', 'Spark: a --conf setting (repeatable)', pairs('--conf'))
    .option('--env <k=v>', 'command: an environment variable (repeatable)', pairs('--env'))
    .addOption(
      new Option('--action-on-failure <action>', 'what a failure does to the cluster').choices([
        'CONTINUE',
        'CANCEL_AND_WAIT',
        'TERMINATE_CLUSTER',
      ]),
    )
    .option('--wait', 'wait for the step to end; exit code 1 unless it COMPLETED')
    .option('--follow', "print the step's log until it ends (implies --wait)")
    .addHelpText('after', '\nExample: emberplane steps add <cluster-id> --name hello --follow -- bash -c "echo hello"')
    .action(async (clusterId: string, argv: string[], opts, command: Command) => {
      const { client, output } = contextOf(command);
      const kinds = [argv.length ? 'command' : null, ...['script', 'spark', 'sql'].filter((k) => opts[k] !== undefined)].filter(Boolean);
      if (kinds.length !== 1) throw new CliError('give exactly one of a command (after --), --script, --spark and --sql', EXIT.USAGE);
      const step: StepInput = {
        name: opts.name,
        ...(opts.actionOnFailure ? { actionOnFailure: opts.actionOnFailure as ActionOnFailure } : {}),
        ...(argv.length ? { command: { args: argv, ...(opts.env ? { env: opts.env } : {}) } } : {}),
        ...(opts.script ? { script: { uri: opts.script, args: opts.arg ?? [] } } : {}),
        ...(opts.spark ? { spark: { appUri: opts.spark, args: opts.arg ?? [], ...(opts.conf ? { conf: opts.conf } : {}) } } : {}),
        ...(opts.sql ? { sql: { query: opts.sql, ...(opts.outputUri ? { outputUri: opts.outputUri } : {}) } } : {}),
      };
      const [added] = (await client.request(AddSteps, { input: { clusterId, steps: [step] } })).addSteps.steps;
      if (!added) throw new CliError('the server added no step', EXIT.FAILED);
      if (opts.follow) {
        process.stderr.write(`# step ${added.id}\n`);
        await printLog(client, added.id, output);
        await judge(client, added.id);
        return;
      }
      if (opts.wait) {
        await followStepQuietly(client, added.id);
        const { step: ended } = await client.request(StepOutcome, { id: added.id });
        printRecord(output, ended ?? added);
        await judge(client, added.id);
        return;
      }
      printRecord(output, added);
    });

  steps
    .command('list')
    .description("a cluster's steps, newest first")
    .argument('<cluster-id>')
    .option('--max <count>', 'at most this many', wholeNumber('--max', 1), 100)
    .action(async (clusterId: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const rows = [];
      let after: string | null = null;
      while (rows.length < opts.max) {
        const { cluster }: Awaited<ReturnType<typeof listPage>> = await listPage(
          client,
          clusterId,
          Math.min(100, opts.max - rows.length),
          after,
        );
        if (!cluster) throw new CliError(`NOT_FOUND (id): no cluster ${clusterId}`, EXIT.REFUSED);
        rows.push(...cluster.steps.edges.map((e) => e.node));
        if (!cluster.steps.pageInfo.hasNextPage) break;
        after = cluster.steps.pageInfo.endCursor ?? null;
      }
      printRows(output, rows, [
        { header: 'ID', value: (s) => s.id },
        { header: 'NAME', value: (s) => s.name },
        { header: 'KIND', value: (s) => s.kind },
        { header: 'STATE', value: (s) => s.state },
        { header: 'PROGRESS', value: (s) => (s.progress === null || s.progress === undefined ? null : `${Math.round(s.progress * 100)}%`) },
        { header: 'EXIT', value: (s) => s.exitCode },
        { header: 'CREATED', value: (s) => s.createdAt },
      ]);
    });

  steps
    .command('logs')
    .description("a step's log: what is stored, or with --follow everything until the step ends")
    .argument('<step-id>')
    .option('--follow', 'keep printing lines as they are written, until the step ends; exit code 1 unless it COMPLETED')
    .option('--tail <lines>', 'start with the last lines only (at most 1,000)', wholeNumber('--tail', 1))
    .action(async (stepId: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const { step } = await client.request(StepOutcome, { id: stepId });
      if (!step) throw new CliError(`NOT_FOUND (stepId): no step ${stepId}`, EXIT.REFUSED);
      if (!opts.follow && !STEP_ENDED.includes(step.state)) {
        // without --follow a running step's stored lines are printed up to now
        await printStored(client, stepId, output, opts.tail);
        return;
      }
      await printLog(client, stepId, output, opts.tail);
      if (opts.follow) await judge(client, stepId);
    });

  steps
    .command('cancel')
    .description('cancel steps (PENDING ones at once, RUNNING ones with SIGTERM)')
    .argument('<cluster-id>')
    .argument('<step-id...>')
    .addOption(new Option('--option <option>', 'how a running step is stopped').choices(['SEND_INTERRUPT', 'TERMINATE_PROCESS']))
    .action(async (clusterId: string, stepIds: string[], opts, command: Command) => {
      const { client, output } = contextOf(command);
      const { results } = (
        await client.request(CancelSteps, {
          input: { clusterId, stepIds, ...(opts.option ? { cancellationOption: opts.option } : {}) },
        })
      ).cancelSteps;
      printRows(output, results, [
        { header: 'STEP', value: (r) => r.stepId },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'REASON', value: (r) => r.reason },
      ]);
      if (results.some((r) => r.status !== 'SUBMITTED')) process.exitCode = EXIT.FAILED;
    });

  return steps;
}

async function listPage(client: EmberplaneClient, id: string, first: number, after: string | null) {
  return client.request(ListSteps, { id, first, after });
}

async function followStepQuietly(client: EmberplaneClient, stepId: string): Promise<void> {
  const lines = followStep(client, stepId);
  while (!(await lines.next()).done) {
    /* the log is read to its end: the step has ended */
  }
}

const StoredLines = graphql(`
  query StoredLines($id: ID!, $first: Int, $after: String, $last: Int) {
    step(id: $id) {
      logs(first: $first, after: $after, last: $last) {
        edges {
          node {
            ...LogLineFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

type StoredPage = ResultOf<typeof StoredLines>;

async function printStored(client: EmberplaneClient, stepId: string, output: OutputFormat, tail?: number): Promise<void> {
  let after: string | null = null;
  let last: number | null = tail ? Math.min(100, tail) : null;
  for (;;) {
    const page: StoredPage = await client.request(StoredLines, { id: stepId, after, ...(last === null ? { first: 100 } : { last }) });
    const step = page.step;
    if (!step) return;
    for (const { node: l } of step.logs.edges) printLine(output, l);
    if (last !== null || !step.logs.pageInfo.hasNextPage) return;
    after = step.logs.pageInfo.endCursor ?? null;
    last = null;
  }
}
