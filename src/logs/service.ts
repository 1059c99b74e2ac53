import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import * as q from './queries.js';
import type { LogLineRow } from './tables.js';
import { LogLineRing } from './line-ring.js';
import type { AgentLogLine } from '../engine/types.js';
import { LiveFeed } from '../platform/notifications/live-feed.js';
import { badInput } from '../platform/errors.js';
import { pageSize, parseSeqCursor, type Page } from '../platform/paging.js';
import { requireIntInRange } from '../platform/validate.js';

/** Relay paging of a log, both ways. */
export interface LogPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export const STREAM_NAMES = ['STDOUT', 'STDERR', 'SYSTEM'] as const;
export function streamName(code: number): (typeof STREAM_NAMES)[number] {
  return STREAM_NAMES[code - 1] ?? 'SYSTEM';
}

/** the most stored lines a `tail` subscription replays */
const MAX_TAIL = 1_000;

export class LogService {
  readonly feed: LiveFeed<LogLineRow>;

  constructor(
    private readonly sql: Sql,
    log: Logger,
  ) {
    this.feed = new LiveFeed<LogLineRow>(
      {
        fetch: (key, after, limit) => q.linesAfter(this.sql, key, after, limit),
        head: async (key) => (await q.streamHead(this.sql, key))?.lastSeq ?? 0,
        seqOf: (line) => line.seq,
        tailStore: (key) => new LogLineRing(key),
      },
      log,
    );
  }

  /** Stores a batch from an agent (agent seqs de-duplicate resends) and returns the agent seq stored. */
  async appendFromAgent(streamId: string, lines: AgentLogLine[]): Promise<number> {
    if (lines.length === 0) return 0;
    await q.appendLines(
      this.sql,
      streamId,
      lines.map((l) => ({
        at: new Date(l.at),
        stream: l.stream,
        text: l.text,
        agentSeq: l.seq,
      })),
    );
    return lines[lines.length - 1]!.seq;
  }

  async agentSeq(streamId: string): Promise<number> {
    return (await q.streamHead(this.sql, streamId))?.agentSeq ?? 0;
  }

  async exists(streamId: string): Promise<boolean> {
    return (await q.streamHead(this.sql, streamId)) !== undefined;
  }

  /**
   * A page of a stream: `first` lines after `after`, or `last` lines before `before` (the tail of
   * the log without a cursor); either may be bounded by the other cursor.
   */
  async page(streamId: string, args: LogPageArgs): Promise<Page<LogLineRow>> {
    if (args.first != null && args.last != null) throw badInput('last', 'give first or last, not both');
    const after = parseSeqCursor(args.after);
    const before = args.before == null || args.before === '' ? null : parseSeqCursor(args.before, 'before');
    const cursorOf = (l: LogLineRow) => String(l.seq);
    if (args.last != null) {
      const limit = pageSize(args.last, 'last');
      const rows = await q.linesBetween(this.sql, streamId, after, before, limit + 1, true);
      return {
        nodes: rows.slice(rows.length > limit ? 1 : 0),
        hasPreviousPage: rows.length > limit,
        hasNextPage: before !== null,
        cursorOf,
      };
    }
    const limit = pageSize(args.first);
    const rows = await q.linesBetween(this.sql, streamId, after, before, limit + 1, false);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, hasPreviousPage: after > 0, cursorOf };
  }

  /** Lines stored in the stream: seqs are dense from 1, so the stream head's seq (no scan). */
  async count(streamId: string): Promise<number> {
    return (await q.streamHead(this.sql, streamId))?.lastSeq ?? 0;
  }

  /**
   * Stored lines after the cursor, or the last `tail` stored lines (a console opening a long log at
   * its end), then live lines.
   */
  async subscribe(streamId: string, after: string | null | undefined, tail?: number | null): Promise<AsyncIterableIterator<LogLineRow>> {
    return this.feed.subscribe(streamId, await this.startOf(streamId, after, tail));
  }

  /** The same lines as `subscribe`, in batches: several at once when the subscriber takes them late. */
  async subscribeBatches(
    streamId: string,
    after: string | null | undefined,
    tail?: number | null,
  ): Promise<AsyncIterableIterator<readonly LogLineRow[]>> {
    return this.feed.subscribeBatches(streamId, await this.startOf(streamId, after, tail));
  }

  /** The seq a subscription starts after: the cursor's, or `tail` lines before the stream's end. */
  private async startOf(streamId: string, after: string | null | undefined, tail: number | null | undefined): Promise<number> {
    if (tail == null) return parseSeqCursor(after);
    if (after != null) throw badInput('tail', 'give after or tail, not both');
    const lines = requireIntInRange(tail, 'tail', 0, MAX_TAIL);
    return Math.max(0, (await this.count(streamId)) - lines);
  }
}
