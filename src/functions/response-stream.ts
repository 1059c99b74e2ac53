// InvokeWithResponseStream (Lambda's API action) for the API: a synchronous invocation whose
// response comes as events while the function writes it: a PayloadChunk per piece, then one
// InvokeComplete (Lambda's event stream). A function that isn't streamified answers in one
// PayloadChunk, as on Lambda. Pieces wait in a short queue: when the subscriber reads slower than
// the function writes, the function is held back (Runtime API backpressure), not buffered here.
import type { ResponseStreamSink } from '../engine/functions/types.js';
import type { InvocationRow } from './tables.js';
import type { InvocationService, InvokeInput, InvokeResult } from './invocations.js';

/** pieces a subscriber may be behind before the function waits (a piece is one read of the runtime's socket, ≤ 64 KB) */
const MAX_QUEUED = 16;

export interface InvokeComplete {
  /** the error type of a failed invocation (Lambda's ErrorCode) */
  errorCode: string | null;
  /** its message (ErrorDetails) */
  errorDetails: string | null;
  /** logType TAIL: the last 4 KB of the log, base64 */
  logResult: string | null;
  executedVersion: string;
  /** the Content-Type the function streamed with (null: it answered in one piece) */
  responseStreamContentType: string | null;
  invocation: InvocationRow;
}

export type ResponseStreamEvent =
  | { payloadChunk: { payload: Buffer }; invokeComplete?: never }
  | { invokeComplete: InvokeComplete; payloadChunk?: never };

/**
 * Starts the invocation and returns its events. Refusals (no such function, throttled, bad input)
 * are thrown here, before any event: they are the subscription's error, not an event.
 */
export async function invokeWithResponseStream(
  invocations: InvocationService,
  input: Omit<InvokeInput, 'stream' | 'invocationType'>,
): Promise<AsyncGenerator<ResponseStreamEvent>> {
  const queue: ResponseStreamEvent[] = [];
  let ended = false;
  let closed = false;
  let wakeReader: (() => void) | null = null;
  let wakeWriter: (() => void) | null = null;
  const wake = () => {
    wakeReader?.();
    wakeReader = null;
  };
  const sink: ResponseStreamSink = {
    start: () => {},
    write(chunk) {
      if (closed) return;
      queue.push({ payloadChunk: { payload: Buffer.from(chunk) } });
      wake();
      if (queue.length < MAX_QUEUED) return;
      return new Promise<void>((resolve) => {
        wakeWriter = resolve;
      });
    },
  };
  const complete = (result: InvokeResult) => {
    // a function that answered in one piece: its response is the one chunk
    if (result.streamContentType === null && result.functionError === null && result.invocation.response)
      queue.push({ payloadChunk: { payload: Buffer.from(result.invocation.response) } });
    queue.push({
      invokeComplete: {
        errorCode: result.functionError ? (result.invocation.errorType ?? 'Unhandled') : null,
        errorDetails: result.functionError ? result.invocation.errorMessage : null,
        logResult: result.logResult,
        executedVersion: result.executedVersion,
        responseStreamContentType: result.streamContentType,
        invocation: result.invocation,
      },
    });
    ended = true;
    wake();
  };
  let refusal: unknown = null;
  void invocations.invoke({ ...input, invocationType: 'REQUEST_RESPONSE', stream: sink }).then(complete, (err: unknown) => {
    refusal = err;
    ended = true;
    wake();
  });
  // the invocation's first event, or its refusal
  await new Promise<void>((resolve) => {
    wakeReader = resolve;
    if (queue.length > 0 || ended) resolve();
  });
  if (refusal !== null && queue.length === 0) throw refusal;

  async function* events(): AsyncGenerator<ResponseStreamEvent> {
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          if (queue.length < MAX_QUEUED) {
            wakeWriter?.();
            wakeWriter = null;
          }
          yield next;
          if (next.invokeComplete) return;
          continue;
        }
        if (ended) {
          // an invocation that failed after its first bytes (the platform's failure, not the function's)
          if (refusal !== null) throw refusal;
          return;
        }
        await new Promise<void>((resolve) => {
          wakeReader = resolve;
        });
      }
    } finally {
      // the subscriber went away: the function runs on, what it writes is dropped
      closed = true;
      queue.length = 0;
      wakeWriter?.();
      wakeWriter = null;
    }
  }
  return events();
}
