// Small helpers shared by the bench figures: statistics, a wall clock with sub-millisecond
// resolution, a GraphQL client for setup calls, and a graphql-ws client.
import fs from 'node:fs/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export { realtimeClock } from './clock.mjs';

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
}

export function summarize(values: Iterable<number>): Summary {
  const sorted = Float64Array.from(values)
    .filter((v) => Number.isFinite(v))
    .sort();
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** What a run of the load worker (load-worker.mjs) measured */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
  firstError?: string;
}

export function median(values: number[]): number {
  return summarize(values).p50;
}

export const ms = (v: number, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');

/** Flushes a file to disk: every copy a figure compares ends so, as an upload does. */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const sleep = (millis: number) => new Promise<void>((r) => setTimeout(r, millis));

export async function waitUntil<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class Api {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  /** POST /graphql; throws on any GraphQL error (setup calls must not fail silently). */
  async data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    if (body.errors?.length || !body.data)
      throw new Error(`GraphQL errors (HTTP ${res.status}): ${JSON.stringify(body.errors).slice(0, 2000)}`);
    return body.data;
  }

  ws(): Client {
    return createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.key}` },
      retryAttempts: 0,
      lazy: false,
    });
  }
}

export interface ClusterEventMsg {
  cursor: string;
  kind: string;
  resourceId: string;
  state: string | null;
}

/** One clusterEvents subscription that resolves waiters on matching events (used to know when steps end). */
export class EventWatch {
  private waiters: Array<{ pred: (e: ClusterEventMsg) => boolean; resolve: (e: ClusterEventMsg) => void }> = [];
  private dispose: () => void;
  error: unknown = null;
  readonly seen: Array<ClusterEventMsg & { receivedAt: number }> = [];

  constructor(
    client: Client,
    clusterId: string,
    private readonly now: () => number,
  ) {
    this.dispose = client.subscribe<{ clusterEvents: ClusterEventMsg }>(
      {
        query: 'subscription($id: ID!) { clusterEvents(clusterId: $id) { cursor kind resourceId state } }',
        variables: { id: clusterId },
      },
      {
        next: (r) => {
          const e = r.data?.clusterEvents;
          if (!e) {
            this.error = r.errors;
            return;
          }
          this.seen.push({ ...e, receivedAt: this.now() });
          this.waiters = this.waiters.filter((w) => {
            if (!w.pred(e)) return true;
            w.resolve(e);
            return false;
          });
        },
        error: (err) => {
          this.error = err;
        },
        complete: () => {},
      },
    );
  }

  /** Resolves on the first event matching pred that arrives from now on (or already seen when `fromIndex` is given). */
  next(pred: (e: ClusterEventMsg) => boolean, what: string, timeoutMs = 30_000, fromIndex?: number): Promise<ClusterEventMsg> {
    if (fromIndex !== undefined) {
      const hit = this.seen.slice(fromIndex).find(pred);
      if (hit) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${what}${this.error ? ` (subscription error: ${JSON.stringify(this.error)})` : ''}`));
      }, timeoutMs);
      const done = (e: ClusterEventMsg) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  close(): void {
    this.dispose();
  }
}

/** Creates a function of `files` (1024 MB) and waits until it is ACTIVE. */
export async function deployFunction(
  api: Api,
  name: string,
  runtime: string,
  handler: string,
  files: Array<{ path: string; content: string }>,
) {
  await api.data(`mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`, {
    input: { name, runtime, handler, memoryMb: 1024, code: { files } },
  });
  await waitUntil(
    async () => (await api.data(`query($n: String!) { function(name: $n) { state } }`, { n: name })).function.state === 'ACTIVE',
    `${name} ACTIVE`,
    30_000,
    50,
  );
}
