// Platform-wide tables. Each module describes its own tables in its tables.ts (drizzle.config.ts
// lists them all); drizzle-kit generates migrations/ from them, and each table's row type is
// inferred from it. Each module's queries live beside its service.
import { pgTable, text } from 'drizzle-orm/pg-core';
import { ts } from './columns.js';

// Installation-wide values (e.g. which secrets key the stored secrets were made with)
export const settings = pgTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

export const servers = pgTable('servers', {
  id: text('id').primaryKey(),
  agentUrl: text('agent_url').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});
