// Log streams (of steps and functions) and their lines.
import { bigint, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { ts } from '../platform/db/columns.js';

export const logStreams = pgTable('log_streams', {
  id: text('id').primaryKey(),
  // last stored seq; bumping it locks the row, so lines of one stream commit in seq order (no gaps)
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
  // highest agent-side seq stored: resent batches after a reconnect are de-duplicated against it
  agentSeq: bigint('agent_seq', { mode: 'number' }).notNull().default(0),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const logLines = pgTable(
  'log_lines',
  {
    streamId: text('stream_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    at: ts('at').notNull(),
    stream: smallint('stream').notNull(),
    text: text('text').notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.seq] })],
);

export type LogLineRow = typeof logLines.$inferSelect;
