// Following a log to its end: a step's lines as they are written, until the step has ended and its
// last line has arrived. The control plane writes a step's final SYSTEM line ("Step completed …",
// "Step failed: …") in the same transaction that ends the step, so that line is the end of the log.
// A lost connection is picked up again after the last line seen: nothing is missed or repeated.
import { ApiError, type EmberplaneClient } from './client.js';
import { graphql } from './gql/index.js';
import type { LogStreamKind, StepState } from './gql/graphql.js';

export interface FollowedLine {
  cursor: string;
  at: string;
  stream: LogStreamKind;
  text: string;
}

export const STEP_ENDED: readonly StepState[] = ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];
const LAST_LINE = /^Step (completed|failed|cancelled|interrupted)\b/;
const MAX_RECONNECTS = 30;
const RECONNECT_DELAY_MS = 1_000;

const StepLogStream = graphql(`
  query StepLogStream($id: ID!) {
    step(id: $id) {
      id
      name
      state
      logStreamId
    }
  }
`);

// a fragment the subscriptions below spread (...LogLineFields); codegen reads it from this call
graphql(`
  fragment LogLineFields on LogLine {
    cursor
    at
    stream
    text
  }
`);

// batches: a follower that falls behind a fast log gets several lines per message
const LogLines = graphql(`
  subscription LogLines($streamId: ID!, $after: String, $tail: Int) {
    logBatches(streamId: $streamId, after: $after, tail: $tail) {
      lines {
        ...LogLineFields
      }
    }
  }
`);

const FunctionLogLines = graphql(`
  subscription FunctionLogLines($functionName: String!, $after: String, $tail: Int) {
    functionLogs(functionName: $functionName, after: $after, tail: $tail) {
      ...LogLineFields
    }
  }
`);

/**
 * The step's log from its start (or its last `tail` lines), live, ending after its final line.
 * Returns the step's final state.
 */
export async function* followStep(
  client: EmberplaneClient,
  stepId: string,
  options: { tail?: number } = {},
): AsyncGenerator<FollowedLine, StepState> {
  const { step } = await client.request(StepLogStream, { id: stepId });
  if (!step) throw new ApiError([{ code: 'NOT_FOUND', field: 'stepId', message: `no step ${stepId}` }]);
  for await (const line of resumable((after) =>
    lines(
      client.subscribe(LogLines, { streamId: step.logStreamId, after, tail: after ? null : (options.tail ?? null) }),
      (d) => d.logBatches.lines,
    ),
  )) {
    yield line;
    if (line.stream === 'SYSTEM' && LAST_LINE.test(line.text)) break;
  }
  const ended = await client.request(StepLogStream, { id: stepId });
  return ended.step?.state ?? step.state;
}

/** A function's log lines (all stored ones, or the last `tail`), then live ones until the caller stops. */
export function followFunction(
  client: EmberplaneClient,
  functionName: string,
  options: { tail?: number } = {},
): AsyncGenerator<FollowedLine> {
  return resumable((after) =>
    lines(client.subscribe(FunctionLogLines, { functionName, after, tail: after ? null : (options.tail ?? null) }), (d) => [
      d.functionLogs,
    ]),
  );
}

async function* lines<T>(events: AsyncGenerator<T>, pick: (event: T) => readonly FollowedLine[]): AsyncGenerator<FollowedLine> {
  for await (const event of events) yield* pick(event);
}

/** A log subscription opened again after the last line seen when its connection is lost. */
async function* resumable(open: (after: string | null) => AsyncGenerator<FollowedLine>): AsyncGenerator<FollowedLine> {
  let after: string | null = null;
  let reconnects = 0;
  for (;;) {
    try {
      for await (const line of open(after)) {
        after = line.cursor;
        reconnects = 0;
        yield line;
      }
      return;
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'CONNECTION_LOST' || ++reconnects > MAX_RECONNECTS) throw err;
      // a restarting server: try again in a moment
      await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
    }
  }
}
