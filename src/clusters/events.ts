import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import { eventHead, eventsAfter } from './queries/events.js';
import { LiveFeed } from '../platform/notifications/live-feed.js';
import { parseSeqCursor } from '../platform/paging.js';
import type { EventRow } from './tables.js';

/** The per-cluster event log (outbox) as a replayable feed for subscriptions. */
export class EventService {
  readonly feed: LiveFeed<EventRow>;

  constructor(
    private readonly sql: Sql,
    log: Logger,
  ) {
    this.feed = new LiveFeed<EventRow>(
      {
        fetch: (key, after, limit) => eventsAfter(this.sql, key, after, limit),
        head: (key) => eventHead(this.sql, key),
        seqOf: (e) => e.seq,
      },
      log,
    );
  }

  /** Without a cursor a subscription starts at the present; with one it replays what followed it. */
  async subscribe(clusterId: string, after: string | null | undefined): Promise<AsyncIterableIterator<EventRow>> {
    const from = after ? parseSeqCursor(after) : await this.feed.head(clusterId);
    return this.feed.subscribe(clusterId, from);
  }
}
