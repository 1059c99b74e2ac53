import type { ApolloServerPlugin, GraphQLRequestContext, GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  execute,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Context } from '../graphql/context.js';

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
 * The key includes the caller's permissions (results depend on them) and only queries are shared:
 * never mutations. Errors are formatted here, for each request, by the same function Apollo uses
 * (handing an erroring request back to Apollo would execute it a second time).
 */
export class QueryCoalescer {
  private keys = new Map<string, KeyState>();
  // the members of a batch share one `data` object: serialise it once for all their responses
  private serialized = new WeakMap<object, string>();

  constructor(
    private readonly schema: GraphQLSchema,
    /** the API edge's error switch (code, field, no stack; logs unexpected errors) */
    private readonly formatError: (error: GraphQLError, rc: GraphQLRequestContext<Context>) => GraphQLFormattedError,
    /** the HTTP status of a request that failed as a whole, from its first error */
    private readonly statusOf: (error: GraphQLError) => number | undefined,
  ) {}

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

  /** Apollo's `stringifyResult`: JSON, computed once per shared result. */
  stringifyResult = (value: FormattedExecutionResult): string => {
    const { data } = value;
    if (value.errors || value.extensions || !data || typeof data !== 'object') return `${JSON.stringify(value)}\n`;
    let text = this.serialized.get(data);
    if (text === undefined) this.serialized.set(data, (text = `${JSON.stringify({ data })}\n`));
    return text;
  };

  // Apollo keeps one DocumentNode per distinct query text, so compiled plans are keyed by it
  private compiled = new WeakMap<object, Map<string, CompiledQuery | null>>();

  /** Runs the operation with a compiled plan (graphql-jit), or graphql-js where it can't compile one. */
  private async execute(rc: GraphQLRequestContext<Context>): Promise<ExecutionResult> {
    const document = rc.document!;
    let byName = this.compiled.get(document);
    if (!byName) this.compiled.set(document, (byName = new Map()));
    const opName = rc.operationName ?? '';
    let plan = byName.get(opName);
    if (plan === undefined) {
      const compiled = compileQuery(this.schema, document, rc.operationName ?? undefined);
      plan = isCompiledQuery(compiled) ? compiled : null;
      byName.set(opName, plan);
    }
    if (plan) return plan.query(undefined, rc.contextValue, rc.request.variables ?? {}) as Promise<ExecutionResult>;
    return execute({
      schema: this.schema,
      document,
      operationName: rc.operationName,
      variableValues: rc.request.variables,
      contextValue: rc.contextValue,
    }) as Promise<ExecutionResult>;
  }

  plugin(): ApolloServerPlugin<Context> {
    return {
      requestDidStart: async () => ({
        responseForOperation: async (rc: GraphQLRequestContext<Context>): Promise<GraphQLResponse | null> => {
          if (rc.operation?.operation !== 'query' || !rc.document || !rc.queryHash) return null;
          const principal = rc.contextValue.principal;
          const key = JSON.stringify([
            rc.queryHash,
            rc.operationName ?? null,
            rc.request.variables ?? null,
            principal ? [...principal.actions].sort() : null,
          ]);
          const result = await this.run(key, () => this.execute(rc));
          if (!result.errors?.length) {
            return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data } } };
          }
          const errors = result.errors.map((e) => this.formatError(e, rc));
          const status = result.data === undefined || result.data === null ? this.statusOf(result.errors[0]!) : undefined;
          return { http: { status, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data, errors } } };
        },
      }),
    };
  }
}
