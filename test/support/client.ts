import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; field?: string; [k: string]: unknown } }>;
}

/** POST /graphql with a key (null: no Authorization header). */
export async function gql<T = any>(
  baseUrl: string,
  key: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GqlResponse<T>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  return { ...body, status: res.status };
}

/** Like gql but fails the test on any error. */
export async function gqlData<T = any>(baseUrl: string, key: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await gql<T>(baseUrl, key, query, variables);
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}

export function wsClient(baseUrl: string, key: string | null): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** A running subscription that records what it receives. */
export class Subscription<T = any> {
  values: T[] = [];
  errors: unknown[] = [];
  completed = false;
  private waiters: Array<() => void> = [];
  private dispose: () => void;

  constructor(client: Client, query: string, variables: Record<string, unknown>, pick: (data: any) => T) {
    this.dispose = client.subscribe(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) this.errors.push(...result.errors);
          else this.values.push(pick(result.data));
          this.wake();
        },
        error: (err) => {
          this.errors.push(err);
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `pred(values)` holds; rejects on error or timeout. */
  async waitFor(pred: (values: T[]) => boolean, what: string, timeoutMs = 20_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.values)) {
      if (this.errors.length) throw new Error(`subscription error while waiting for ${what}: ${JSON.stringify(this.errors)}`);
      if (this.completed) throw new Error(`subscription completed before ${what}; got ${JSON.stringify(this.values).slice(0, 2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.values).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.values;
  }

  async waitForError(timeoutMs = 10_000): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.errors.length) {
      if (Date.now() > deadline) throw new Error('timed out waiting for a subscription error');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.errors;
  }

  async waitForComplete(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.completed) {
      if (this.errors.length) throw new Error(`subscription error: ${JSON.stringify(this.errors)}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the subscription to complete');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close() {
    this.dispose();
  }
}
