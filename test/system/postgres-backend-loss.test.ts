// A Postgres backend that dies under a query or an open transaction (Postgres restarted, an operator's
// pg_terminate_backend, a pooler closing the connection) must cost that query or transaction, never
// the server nor the connection's next session. postgres.js 3.4.9 got four things wrong here,
// which patches/postgres+3.4.9.patch fixes (porsager/postgres#1066, #1154, #1208 report the first):
// - a transaction's own ROLLBACK was written to the closed socket from a setImmediate callback: an
//   uncaught TypeError that ends the process;
// - the backend's FATAL error response outlived the session and failed the first query of the
//   reconnected one;
// - statements a transaction's callback issued after its connection closed ran on the connection the
//   pool had reconnected meanwhile: outside any transaction, committed at once;
// - statements queued in the transaction behind its busy connection were never settled.
import crypto from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/platform/db/client.js';

let sql: Sql;
let killer: Sql;

beforeAll(() => {
  // one connection: every query after a loss runs on the reconnected session of the same connection
  sql = connect(inject('pgUrl'), { max: 1 });
  killer = connect(inject('pgUrl'), { max: 1 });
});
afterAll(async () => {
  await Promise.all([sql?.end(), killer?.end()]);
});

/** the backend of the transaction's connection, once the transaction has started */
function backendOf(): { pid: Promise<number>; started: (pid: number) => void } {
  let started!: (pid: number) => void;
  return { pid: new Promise<number>((resolve) => (started = resolve)), started };
}

const terminate = (pid: number) => killer`select pg_terminate_backend(${pid})`;
const codeOf = (err: unknown) => (err as { code?: string }).code ?? String(err);

it('a backend terminated under an open transaction fails that transaction; the process and the next session go on', async () => {
  for (let round = 0; round < 3; round++) {
    const backend = backendOf();
    const outcome = sql
      .begin(async (t) => {
        const [{ pid }] = await t<{ pid: number }[]>`select pg_backend_pid() as pid`;
        backend.started(pid);
        await t`select pg_sleep(30)`;
      })
      .then(() => 'committed', codeOf);
    await terminate(await backend.pid);
    expect(await outcome).toBe('CONNECTION_CLOSED');
    const [{ ok }] = await sql<{ ok: number }[]>`select 1 as ok`;
    expect(ok).toBe(1);
  }
});

it('a backend terminated under a query fails that query only, not the first query of the reconnected session', async () => {
  for (let round = 0; round < 3; round++) {
    const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const outcome = sql`select pg_sleep(30)`.then(() => 'done', codeOf);
    await terminate(pid);
    expect(await outcome).toMatch(/^(57P01|CONNECTION_CLOSED|ECONNRESET)$/);
    const [{ ok }] = await sql<{ ok: number }[]>`select 1 as ok`;
    expect(ok).toBe(1);
  }
});

it("a transaction's statements after its connection closed fail, and do not run on the reconnected session", async () => {
  const table = `lost_tx_${crypto.randomBytes(4).toString('hex')}`;
  await killer.unsafe(`create table ${table} (x int)`);
  try {
    const backend = backendOf();
    let reconnected!: () => void;
    const sessionBack = new Promise<void>((resolve) => (reconnected = resolve));
    let lateInsert: string | null = null;
    const outcome = sql
      .begin(async (t) => {
        const [{ pid }] = await t<{ pid: number }[]>`select pg_backend_pid() as pid`;
        backend.started(pid);
        // a callback that goes on after its statement failed (catching it, or statements in parallel)
        await t`select pg_sleep(30)`.catch(() => {});
        await sessionBack;
        lateInsert = await t.unsafe(`insert into ${table} values (1)`).then(() => 'inserted', codeOf);
      })
      .then(() => 'committed', codeOf);
    await terminate(await backend.pid);
    expect(await outcome).toBe('CONNECTION_CLOSED');
    // the pool reconnects the same connection for this query: the session the late insert would reach
    const [{ ok }] = await sql<{ ok: number }[]>`select 1 as ok`;
    expect(ok).toBe(1);
    reconnected();
    await expect.poll(() => lateInsert).toBe('CONNECTION_CLOSED');
    const [{ n }] = await killer.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`);
    expect(n).toBe(0);
  } finally {
    await killer.unsafe(`drop table ${table}`);
  }
});

it("a transaction's statements queued behind its busy connection fail with it, not wait for good", async () => {
  const backend = backendOf();
  let queued: Promise<string[]> | null = null;
  const outcome = sql
    .begin(async (t) => {
      const [{ pid }] = await t<{ pid: number }[]>`select pg_backend_pid() as pid`;
      backend.started(pid);
      // the first has a parameter, so it is described before it runs: the others wait in the transaction's queue
      queued = Promise.allSettled([t`select pg_sleep(${30})`, t`select ${1}::int`, t`select ${2}::int`]).then((results) =>
        results.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'done')),
      );
      await queued;
    })
    .then(() => 'committed', codeOf);
  await terminate(await backend.pid);
  expect(await outcome).toBe('CONNECTION_CLOSED');
  await expect.poll(() => queued).not.toBeNull();
  // the one sent fails as the backend went (its FATAL error, the close, or a reset); the queued ones with the close
  const [sent, ...waiting] = (await queued) as unknown as string[];
  expect(sent).toMatch(/^(57P01|CONNECTION_CLOSED|ECONNRESET)$/);
  expect(waiting).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
  const [{ ok }] = await sql<{ ok: number }[]>`select 1 as ok`;
  expect(ok).toBe(1);
});
