// A connection to Postgres that is reset (a pooler or a network device sending RST, a host going away:
// the socket errors, then closes a turn of the event loop later) while a query runs. The query fails.
// A query run on the connection in between (the failure's own handler querying again) is not written
// to the dead socket: it runs on the next session and gets its own answer. A transaction's statements
// in between (its ROLLBACK) fail with it: they never run outside their transaction, nor wait for good.
import net from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/platform/db/client.js';

let proxy: net.Server;
const clientSides = new Set<net.Socket>();
let sql: Sql;
let observer: Sql;

beforeAll(async () => {
  const target = new URL(inject('pgUrl'));
  // between the client and Postgres: resets the client's side on demand
  proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port || 5432), target.hostname);
    clientSides.add(client);
    client.pipe(server).pipe(client);
    const end = () => {
      clientSides.delete(client);
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = new URL(inject('pgUrl'));
  url.hostname = '127.0.0.1';
  url.port = String((proxy.address() as net.AddressInfo).port);
  // one connection: what is left on it after the reset meets the next session
  sql = connect(url.toString(), { max: 1, applicationName: 'reset-under-query' });
  observer = connect(inject('pgUrl'), { max: 1 });
});
afterAll(async () => {
  await Promise.all([sql?.end({ timeout: 1 }), observer?.end()]);
  for (const socket of clientSides) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
});

const codeOf = (err: unknown) => (err as { code?: string }).code ?? String(err);
const resetAll = () => {
  for (const socket of clientSides) socket.resetAndDestroy();
};
/** the proxied connection's backend is running the sleep (the statement has been sent): its pid */
async function sleeping(): Promise<number> {
  let pid = 0;
  await expect
    .poll(async () => {
      const rows = await observer<{ pid: number }[]>`
        select pid from pg_stat_activity
        where application_name = 'reset-under-query' and state = 'active' and query like '%pg_sleep%'`;
      pid = rows[0]?.pid ?? 0;
      return rows.length;
    })
    .toBe(1);
  return pid;
}

/** resets the client's side; the backend, which a reset does not reach while it sleeps, is ended too */
async function resetUnder(pid: number): Promise<void> {
  resetAll();
  await observer`select pg_terminate_backend(${pid})`;
}

it('a query run on a connection between its reset and its close runs on the next session; every query gets its own answer', async () => {
  for (let round = 0; round < 3; round++) {
    await sql`select 1`;
    let second: Promise<string> | null = null;
    const first = sql`select pg_sleep(30)`.then(
      () => 'done',
      (err) => {
        // written at once, as a failure's handler does: the connection has errored but not closed yet
        second = sql`select 'second' as v`.then(([{ v }]) => v as string, codeOf);
        return codeOf(err);
      },
    );
    await resetUnder(await sleeping());
    expect(await first).toBe('ECONNRESET');
    await expect.poll(() => second).not.toBeNull();
    expect(await second).toBe('second');
    for (const v of ['a', 'b', 'c']) expect((await sql`select ${v}::text as v`)[0]!.v).toBe(v);
  }
});

it("a transaction whose connection is reset under it fails, its ROLLBACK too; the next session's queries get their own answers", async () => {
  for (let round = 0; round < 3; round++) {
    await sql`select 1`;
    const outcome = sql.begin(async (t) => {
      await t`select pg_sleep(30)`;
    });
    const settled = outcome.then(() => 'committed', codeOf);
    await resetUnder(await sleeping());
    expect(await settled).toMatch(/^(ECONNRESET|CONNECTION_CLOSED)$/);
    for (const v of ['a', 'b', 'c']) expect((await sql`select ${v}::text as v`)[0]!.v).toBe(v);
  }
});
