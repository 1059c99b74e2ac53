// Follows one step: prints its log lines as they are written and its state/progress changes,
// then exits with 0 if the step COMPLETED and 1 if it ended FAILED, CANCELLED or INTERRUPTED
// (2 for usage, auth or connection errors).
//
//   EMBERPLANE_API_KEY=ep_… npx tsx examples/follow-logs.ts <stepId>
//
// EMBERPLANE_URL defaults to http://127.0.0.1:4000. Log lines go to stdout as `<at> <stream> <text>`,
// state and progress changes to stderr, so `… > step.log` keeps just the output.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const baseUrl = (process.env.EMBERPLANE_URL ?? 'http://127.0.0.1:4000').replace(/\/+$/, '');
const apiKey = process.env.EMBERPLANE_API_KEY;
const stepId = process.argv[2];
if (!apiKey || !stepId) {
  console.error('usage: EMBERPLANE_API_KEY=<key> [EMBERPLANE_URL=http://127.0.0.1:4000] npx tsx examples/follow-logs.ts <stepId>');
  process.exit(2);
}

type StepState = 'PENDING' | 'CANCEL_PENDING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED' | 'INTERRUPTED';
interface LogLine {
  cursor: string;
  at: string;
  stream: 'STDOUT' | 'STDERR' | 'SYSTEM';
  text: string;
}
interface StepUpdate {
  state: StepState;
  progress: number | null;
  exitCode: number | null;
  failureDetails: { message: string | null } | null;
}
interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string };
}

const ENDED: StepState[] = ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];
// The control plane writes one of these as the step's last SYSTEM line, in the same transaction that
// ends the step: once it has arrived, every line of the step has been printed.
const LAST_LINE = /^Step (completed|failed|cancelled|interrupted)\b/;
// A server restart closes the WebSocket; the subscriptions are opened again, the log one after the
// last line printed, so nothing is missed or printed twice.
const MAX_RECONNECTS = 30;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function describeErrors(errors: readonly GraphQLErrorLike[]): string {
  return errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ');
}

async function queryStep(id: string): Promise<{ state: StepState; logStreamId: string; name: string }> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: 'query($id: ID!) { step(id: $id) { name state logStreamId } }', variables: { id } }),
    });
  } catch (err) {
    fail(`cannot reach ${baseUrl}: ${(err as Error).message}`);
  }
  const body = (await res.json()) as {
    data?: { step: { name: string; state: StepState; logStreamId: string } | null };
    errors?: GraphQLErrorLike[];
  };
  if (body.errors?.length) fail(describeErrors(body.errors));
  if (!body.data?.step) fail(`no step ${id}`);
  return body.data.step;
}

/**
 * One subscription that is opened again after a lost connection. `variables()` is read on every
 * (re)subscribe; GraphQL errors (NOT_FOUND, FORBIDDEN, …) are final.
 */
function follow<T>(
  client: Client,
  label: string,
  query: string,
  variables: () => Record<string, unknown>,
  onData: (data: T) => void,
  onComplete: () => void,
): void {
  let reconnects = 0;
  const start = () => {
    client.subscribe<T>(
      { query, variables: variables() },
      {
        next: (result) => {
          if (done) return;
          if (result.errors?.length) fail(describeErrors(result.errors));
          reconnects = 0;
          onData(result.data as T);
        },
        error: (err) => {
          if (done) return;
          if (Array.isArray(err)) fail(describeErrors(err as GraphQLErrorLike[]));
          if (++reconnects > MAX_RECONNECTS) fail(`lost the connection to ${baseUrl} and could not get it back`);
          console.error(`# ${label}: connection lost; subscribing again (${reconnects}/${MAX_RECONNECTS})`);
          setTimeout(start, 1_000);
        },
        complete: () => {
          if (!done) onComplete();
        },
      },
    );
  };
  start();
}

const step = await queryStep(stepId);
console.error(`# step ${stepId} "${step.name}" is ${step.state}; log stream ${step.logStreamId}`);

const client = createClient({
  url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
  webSocketImpl: WebSocket, // Node 20 has no global WebSocket
  connectionParams: { authorization: `Bearer ${apiKey}` },
  retryAttempts: 0, // reconnects are done by follow(), which knows where to resume
});

let finalState: StepState | null = null;
let lastLineSeen = false;
let lastCursor: string | null = null;
let done = false;
let lastLineTimer: NodeJS.Timeout | undefined;

function finishIfDone(): void {
  if (done || !finalState || !lastLineSeen) return;
  done = true;
  clearTimeout(lastLineTimer);
  console.error(`# step ${stepId} ended ${finalState}`);
  // exit by closing everything rather than process.exit, so buffered output is written first
  process.exitCode = finalState === 'COMPLETED' ? 0 : 1;
  void client.dispose();
}

follow<{ logs: LogLine }>(
  client,
  'logs',
  'subscription($streamId: ID!, $after: String) { logs(streamId: $streamId, after: $after) { cursor at stream text } }',
  () => ({ streamId: step.logStreamId, after: lastCursor }),
  ({ logs: line }) => {
    lastCursor = line.cursor;
    process.stdout.write(`${line.at} ${line.stream} ${line.text}\n`);
    if (line.stream === 'SYSTEM' && LAST_LINE.test(line.text)) {
      lastLineSeen = true;
      finishIfDone();
    }
  },
  () => fail('the log subscription ended unexpectedly'),
);

let shown = '';
follow<{ stepUpdates: StepUpdate }>(
  client,
  'stepUpdates',
  'subscription($stepId: ID!) { stepUpdates(stepId: $stepId) { state progress exitCode failureDetails { message } } }',
  () => ({ stepId }),
  ({ stepUpdates: s }) => {
    const progress = s.progress === null ? '' : ` ${Math.round(s.progress * 100)}%`;
    const text = `${s.state}${progress}`;
    if (text !== shown) {
      shown = text;
      const extra = s.exitCode !== null ? ` (exit code ${s.exitCode})` : s.failureDetails?.message ? ` (${s.failureDetails.message})` : '';
      console.error(`# ${text}${extra}`);
    }
    if (ENDED.includes(s.state)) finalState = s.state;
  },
  () => {
    // stepUpdates completes once the step has ended; its last line may still be on its way.
    if (!finalState) fail('the step updates ended without a final state');
    finishIfDone();
    if (!done) {
      lastLineTimer = setTimeout(() => {
        console.error('# the last log line did not arrive within 15 s; stopping anyway');
        lastLineSeen = true;
        finishIfDone();
      }, 15_000);
    }
  },
);
