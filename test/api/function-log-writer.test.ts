// The function log writer when the database falls behind: its backlog stays bounded (invocations
// wait for room, as InvocationService.invoke does), a write that fails for a while goes again, and
// every line arrives, once and in order, when the database takes them.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RuntimeLogLine } from '../../src/engine/functions/types.js';
import { FunctionLogWriter, LOG_BACKLOG_BYTES } from '../../src/functions/invocations.js';
import { createStream } from '../../src/logs/queries.js';
import { connect, type Sql } from '../../src/platform/db/client.js';
import { createTestDatabase } from '../support/db.js';
import { waitUntil } from '../support/processes.js';

const FUNCTION_ID = 'fn-log-writer';
const STREAM = `fnlog-${FUNCTION_ID}`;
const INVOCATIONS = 200;
const LINES_PER_INVOCATION = 100;

let url: string;
let sql: Sql;
let holder: postgres.Sql;

beforeAll(async () => {
  url = await createTestDatabase();
  sql = connect(url, { max: 4 });
  holder = postgres(url, { max: 2, onnotice: () => {} });
  await createStream(sql, STREAM);
  // while a row is in log_writer_failing, an insert of log lines fails as a serialization failure
  // would (a transient error: the same write can succeed later)
  await holder.unsafe(`
    create table log_writer_failing (why text);
    create function log_writer_fail() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from log_writer_failing) then
        raise exception 'log lines refused for a while' using errcode = '40001';
      end if;
      return null;
    end $$;
    create trigger log_writer_fail before insert on log_lines for each statement execute function log_writer_fail();`);
});
afterAll(async () => {
  await holder?.end();
  await sql?.end();
});

/** the lines of invocation i: numbered, about 1 KB each */
const linesOf = (i: number): RuntimeLogLine[] =>
  Array.from({ length: LINES_PER_INVOCATION }, (_, j) => ({
    at: new Date(),
    stream: 'STDOUT' as const,
    text: `${i * LINES_PER_INVOCATION + j} ${'x'.repeat(1_000)}`,
  }));

it('keeps its backlog bounded while the database holds or fails its writes, and stores every line once after', async () => {
  const messages: string[] = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _enc, done) {
        messages.push(JSON.parse(String(chunk)).msg);
        done();
      },
    }),
  );
  const writer = new FunctionLogWriter(sql, log);

  // a transaction holding the stream's row: every write of the writer waits on its lock
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const transaction = holder.begin(async (tx) => {
    await tx`select 1 from log_streams where id = ${STREAM} for update`;
    held();
    await released;
  });
  await holding;

  // invocations one after another, each waiting for room first, each logging its lines
  let invoked = 0;
  let maxBacklog = 0;
  const invocations = (async () => {
    for (let i = 0; i < INVOCATIONS; i++) {
      await writer.room();
      writer.add(FUNCTION_ID, linesOf(i));
      invoked++;
      maxBacklog = Math.max(maxBacklog, writer.backlogBytes);
    }
  })();

  // the backlog reaches its bound and the invocations wait: no write can end while the lock is held
  await waitUntil(() => writer.backlogBytes >= LOG_BACKLOG_BYTES, 'the backlog at its bound');
  const oneInvocation = linesOf(0).reduce((sum, l) => sum + l.text.length, 0) * 2;
  expect(invoked).toBeLessThan(INVOCATIONS);
  expect(maxBacklog).toBeLessThan(LOG_BACKLOG_BYTES + oneInvocation);

  // the database lets go of the lock but fails the writes for a while: the lines wait and go again
  await holder`insert into log_writer_failing values ('test')`;
  release();
  await transaction;
  await waitUntil(() => messages.includes('function log lines not stored yet: retrying') || undefined, 'a failed write logged');
  expect(writer.backlogBytes).toBeGreaterThanOrEqual(LOG_BACKLOG_BYTES);
  expect(invoked).toBeLessThan(INVOCATIONS);

  await holder`delete from log_writer_failing`;
  await invocations;
  expect(maxBacklog).toBeLessThan(LOG_BACKLOG_BYTES + oneInvocation);
  await writer.close();
  expect(writer.backlogBytes).toBe(0);

  const stored = await sql<{ seq: number; text: string }[]>`select seq, text from log_lines where stream_id = ${STREAM} order by seq`;
  expect(stored.length).toBe(INVOCATIONS * LINES_PER_INVOCATION);
  expect(stored.every((row, n) => Number(row.seq) === n + 1 && row.text.startsWith(`${n} `))).toBe(true);
});

it('gathers the lines that come while a statement runs for a window rather than writing them in the next round trip', async () => {
  const stream = 'fn-log-window';
  await createStream(sql, `fnlog-${stream}`);
  const writer = new FunctionLogWriter(sql, pino({ level: 'silent' }));
  const transactionOf = new Map<string, string>();
  const line = (text: string, stored?: () => void): RuntimeLogLine => ({
    at: new Date(),
    stream: 'STDOUT',
    text,
    committing: (id) => transactionOf.set(text, id),
    stored,
  });
  let later!: () => void;
  const bothStored = new Promise<void>((resolve) => (later = resolve));
  // once the first line is stored, one line comes at once and one a turn of the event loop after
  writer.add(stream, [
    line('first', () => {
      writer.add(stream, [line('at once')]);
      setImmediate(() => writer.add(stream, [line('a turn later', later)]));
    }),
  ]);
  await bothStored;
  await writer.close();
  expect(transactionOf.get('at once')).toBe(transactionOf.get('a turn later'));
  expect(transactionOf.get('first')).not.toBe(transactionOf.get('at once'));
});
