import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import * as q from '../db/queries/logs.js';
import type { LogLineRow } from '../db/rows.js';
import type { AgentLogLine } from '../engine/types.js';
import { SeqFeed } from '../events/seq-feed.js';
import { pageSize, parseSeqCursor } from './paging.js';

export const STREAM_NAMES = ['STDOUT', 'STDERR', 'SYSTEM'] as const;
export function streamName(code: number): (typeof STREAM_NAMES)[number] {
  return STREAM_NAMES[code - 1] ?? 'SYSTEM';
}

export class LogService {
  readonly feed: SeqFeed<LogLineRow>;

  constructor(private readonly sql: Sql, log: Logger) {
    this.feed = new SeqFeed<LogLineRow>({
      fetch: (key, after, limit) => q.linesAfter(this.sql, key, after, limit),
      head: async (key) => (await q.streamHead(this.sql, key))?.lastSeq ?? 0,
      seqOf: (line) => line.seq,
    }, log);
  }

  /** Stores a batch from an agent (agent seqs de-duplicate resends) and returns the agent seq stored. */
  async appendFromAgent(streamId: string, lines: AgentLogLine[]): Promise<number> {
    if (lines.length === 0) return 0;
    await q.appendLines(this.sql, streamId, lines.map((l) => ({
      at: new Date(l.at), stream: l.stream, text: l.text, agentSeq: l.seq,
    })));
    return lines[lines.length - 1]!.seq;
  }

  async agentSeq(streamId: string): Promise<number> {
    return (await q.streamHead(this.sql, streamId))?.agentSeq ?? 0;
  }

  async exists(streamId: string): Promise<boolean> {
    return (await q.streamHead(this.sql, streamId)) !== undefined;
  }

  async page(streamId: string, first: number | null | undefined, after: string | null | undefined) {
    const limit = pageSize(first);
    const rows = await q.linesAfter(this.sql, streamId, parseSeqCursor(after), limit + 1);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (l: LogLineRow) => String(l.seq) };
  }

  subscribe(streamId: string, after: string | null | undefined): AsyncIterableIterator<LogLineRow> {
    return this.feed.subscribe(streamId, parseSeqCursor(after));
  }
}
