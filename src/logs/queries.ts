import type { Db } from '../platform/db/client.js';
import type { LogLineRow } from './tables.js';
import { Channel } from '../platform/notifications/channels.js';

export const STREAM_CODES = { STDOUT: 1, STDERR: 2, SYSTEM: 3 } as const;
export type StreamName = keyof typeof STREAM_CODES;

export interface NewLine {
  at: Date;
  stream: StreamName;
  text: string;
}

export async function createStream(db: Db, id: string): Promise<void> {
  await db`insert into log_streams (id) values (${id})`;
}

/** A line from the platform itself (stream SYSTEM) at the end of a stream. */
export async function systemLog(db: Db, streamId: string, text: string): Promise<void> {
  await appendLines(db, streamId, [{ at: new Date(), stream: 'SYSTEM', text }]);
}

/**
 * Stores lines at the end of a stream, in one statement. The row lock on log_streams orders
 * writers, so seqs are dense and commit in order. Lines with an `agentSeq` at or below the stored
 * one were stored before (an agent resends unacknowledged batches after a reconnect) and are
 * dropped. Returns the stream's last seq.
 */
export async function appendLines(db: Db, streamId: string, lines: Array<NewLine & { agentSeq?: number }>): Promise<number> {
  const [row] = await db<{ lastSeq: number }[]>`
    with cur as (select last_seq, agent_seq from log_streams where id = ${streamId} for update),
    fresh as (
      select u.at, u.kind, u.text, u.aseq, row_number() over (order by u.ord) as rn
      from unnest(${db.array(lines.map((l) => l.agentSeq ?? 0))}::bigint[],
                  ${db.array(lines.map((l) => l.at.toISOString()))}::timestamptz[],
                  ${db.array(lines.map((l) => STREAM_CODES[l.stream]))}::smallint[],
                  ${db.array(lines.map((l) => l.text))}::text[]) with ordinality as u(aseq, at, kind, text, ord), cur
      where u.aseq = 0 or u.aseq > cur.agent_seq),
    ins as (
      insert into log_lines (stream_id, seq, at, stream, text)
      select ${streamId}, cur.last_seq + fresh.rn, fresh.at, fresh.kind, fresh.text from fresh, cur),
    upd as (
      update log_streams s set last_seq = cur.last_seq + (select count(*) from fresh),
        agent_seq = greatest(cur.agent_seq, coalesce((select max(aseq) from fresh), 0))
      from cur where s.id = ${streamId}
      returning s.last_seq)
    select last_seq, pg_notify(${Channel.log}, ${streamId} || ':' || last_seq) from upd`;
  if (!row) throw new Error(`log stream ${streamId} does not exist`);
  return row.lastSeq;
}

/**
 * Of the transactions named (pg_current_xact_id's text), those that committed. One still in progress
 * is waited for (a dead server's is rolled back once Postgres sees its connection gone), up to
 * `waitMs`; an id Postgres no longer knows, or never knew (another database), or one still in
 * progress then counts as not committed (its lines are stored again rather than lost).
 */
export async function committedTransactions(db: Db, ids: string[], waitMs = 60_000): Promise<Set<string>> {
  const committed = new Set<string>();
  const deadline = Date.now() + waitMs;
  for (const id of ids) {
    for (;;) {
      const status = await db<{ status: string | null }[]>`select pg_xact_status(${id}::xid8) as status`
        .then(([row]) => row!.status)
        .catch(() => null);
      if (status === 'committed') committed.add(id);
      if (status !== 'in progress' || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return committed;
}

export async function linesAfter(db: Db, streamId: string, after: number, limit: number): Promise<LogLineRow[]> {
  return db<LogLineRow[]>`
    select * from log_lines where stream_id = ${streamId} and seq > ${after} order by seq limit ${limit}`;
}

/**
 * Lines of a stream between two seqs (both exclusive), the `limit` first ones or, `fromEnd`, the
 * `limit` last ones (returned oldest first). Both walk the primary key (stream_id, seq), forwards
 * or backwards: opening a long log at its tail reads only the lines it returns.
 */
export async function linesBetween(
  db: Db,
  streamId: string,
  after: number,
  before: number | null,
  limit: number,
  fromEnd: boolean,
): Promise<LogLineRow[]> {
  const upper = before ?? Number.MAX_SAFE_INTEGER;
  if (!fromEnd)
    return db<LogLineRow[]>`
    select * from log_lines where stream_id = ${streamId} and seq > ${after} and seq < ${upper} order by seq limit ${limit}`;
  const rows = await db<LogLineRow[]>`
    select * from log_lines where stream_id = ${streamId} and seq > ${after} and seq < ${upper} order by seq desc limit ${limit}`;
  return rows.reverse();
}

export async function streamHead(db: Db, streamId: string): Promise<{ lastSeq: number; agentSeq: number } | undefined> {
  const [row] = await db<{ lastSeq: number; agentSeq: number }[]>`
    select last_seq, agent_seq from log_streams where id = ${streamId}`;
  return row;
}
