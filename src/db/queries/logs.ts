import type { Db } from '../client.js';
import type { LogLineRow } from '../rows.js';
import { Channel } from '../../events/channels.js';

export const STREAM_CODES = { STDOUT: 1, STDERR: 2, SYSTEM: 3 } as const;
export type StreamName = keyof typeof STREAM_CODES;

export interface NewLine { at: Date; stream: StreamName; text: string }

export async function createStream(db: Db, id: string): Promise<void> {
  await db`insert into log_streams (id) values (${id})`;
}

/**
 * Stores lines at the end of a stream. The row lock on log_streams orders writers, so seqs are
 * dense and commit in order. `agentSeqUpTo` de-duplicates batches an agent resends after a
 * reconnect: lines at or below the stored agent seq are dropped. Returns the new last seq.
 */
export async function appendLines(
  db: Db, streamId: string, lines: Array<NewLine & { agentSeq?: number }>,
): Promise<number> {
  const [stream] = await db<{ lastSeq: number; agentSeq: number }[]>`
    select last_seq, agent_seq from log_streams where id = ${streamId} for update`;
  if (!stream) throw new Error(`log stream ${streamId} does not exist`);
  const fresh = lines.filter((l) => l.agentSeq === undefined || l.agentSeq > stream.agentSeq);
  if (fresh.length === 0) return stream.lastSeq;
  const maxAgentSeq = fresh.reduce((m, l) => Math.max(m, l.agentSeq ?? 0), stream.agentSeq);
  const first = stream.lastSeq + 1;
  const last = stream.lastSeq + fresh.length;
  await db`
    insert into log_lines (stream_id, seq, at, stream, text)
    select ${streamId}, s, a, k, t
    from unnest(${db.array(fresh.map((_, i) => first + i))}::bigint[],
                ${db.array(fresh.map((l) => l.at.toISOString()))}::timestamptz[],
                ${db.array(fresh.map((l) => STREAM_CODES[l.stream]))}::smallint[],
                ${db.array(fresh.map((l) => l.text))}::text[]) as u(s, a, k, t)`;
  await db`
    update log_streams set last_seq = ${last}, agent_seq = ${maxAgentSeq} where id = ${streamId}`;
  await db`select pg_notify(${Channel.log}, ${streamId + ':' + last})`;
  return last;
}

export async function linesAfter(db: Db, streamId: string, after: number, limit: number): Promise<LogLineRow[]> {
  return db<LogLineRow[]>`
    select * from log_lines where stream_id = ${streamId} and seq > ${after} order by seq limit ${limit}`;
}

export async function streamHead(db: Db, streamId: string): Promise<{ lastSeq: number; agentSeq: number } | undefined> {
  const [row] = await db<{ lastSeq: number; agentSeq: number }[]>`
    select last_seq, agent_seq from log_streams where id = ${streamId}`;
  return row;
}
