import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { stringifyResponse } from './raw-json.js';

interface KeyState {
  running: Promise<unknown> | null;
  /** requests waiting for the next execution; it starts after they all arrived */
  next: Promise<ExecutionResult> | null;
}

/**
 * Identical queries run once for everyone waiting. A console polling a dashboard, or many clients
 * of the same view, send the same document with the same variables. Per key at most one execution
 * runs; requests that arrive meanwhile join the next one, which starts when the running one ends
 * (or on the next event-loop turn when none runs). An execution therefore always begins after
 * every request it answers arrived: each response reflects a read newer than its request, as
 * without coalescing (no cache, nothing stale), while the SQL and execution are paid once.
 *
 * The caller's key includes the caller's permissions (results depend on them) and only queries are
 * shared: never mutations. Each request formats the shared errors itself.
 */
export class QueryCoalescer {
  private keys = new Map<string, KeyState>();
  // the members of a batch share one `data` object: serialise it once for all their responses
  private serialized = new WeakMap<object, Buffer>();

  run(key: string, exec: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { running: null, next: null }));
    if (state.next) return state.next;
    const st = state;
    const previous = st.running ?? new Promise<void>((resolve) => setImmediate(resolve));
    const start = () => {
      st.next = null;
      st.running = batch;
      return exec();
    };
    // starts whether the previous execution succeeded or not
    const batch: Promise<ExecutionResult> = previous.then(start, start).finally(() => {
      if (st.running === batch) st.running = null;
      if (!st.running && !st.next && this.keys.get(key) === st) this.keys.delete(key);
    });
    st.next = batch;
    return batch;
  }

  /** A response body as JSON bytes, encoded once per shared `data` when there is nothing else in it. */
  serialize = (value: FormattedExecutionResult): Buffer => {
    const { data } = value;
    if (value.errors || value.extensions || !data || typeof data !== 'object') return Buffer.from(`${stringifyResponse(value)}\n`);
    let bytes = this.serialized.get(data);
    if (bytes === undefined) this.serialized.set(data, (bytes = Buffer.from(`${stringifyResponse({ data })}\n`)));
    return bytes;
  };
}
