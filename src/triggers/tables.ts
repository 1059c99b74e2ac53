// Triggers (event sources → functions), their outbox of source events, schedules and HTTP routes.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { EventRow } from '../clusters/tables.js';
import { functions } from '../functions/tables.js';
import { ts } from '../platform/db/columns.js';

export type TriggerSourceType = 'HTTP' | 'SCHEDULE' | 'BUCKET' | 'TOPIC' | 'QUEUE' | 'CLUSTER_EVENTS';

export const triggers = pgTable(
  'triggers',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    functionId: text('function_id')
      .notNull()
      .references(() => functions.id, { onDelete: 'cascade' }),
    functionName: text('function_name').notNull(),
    // $LATEST, a version number or an alias
    qualifier: text('qualifier').notNull().default('$LATEST'),
    // HTTP | SCHEDULE | BUCKET | TOPIC | QUEUE | CLUSTER_EVENTS
    sourceType: text('source_type').$type<TriggerSourceType>().notNull(),
    // the source's validated settings (its TriggerSourceKind.parse result)
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('triggers_name_idx').on(t.name),
    index('triggers_created_idx').on(t.createdAt, t.id),
    index('triggers_source_idx').on(t.sourceType).where(sql`enabled`),
    index('triggers_function_idx').on(t.functionId),
  ],
);

// Source events waiting for the trigger dispatcher, written in the transaction of the change
// (object changes, cluster and step state changes). The dispatcher deletes the rows it consumed in
// the transaction that queues their deliveries: a row is delivered once, or not yet.
export const triggerOutbox = pgTable('trigger_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  // BUCKET (objectEventSeq set) or CLUSTER_EVENTS (clusterId + eventSeq set)
  sourceType: text('source_type').$type<'BUCKET' | 'CLUSTER_EVENTS'>().notNull(),
  objectEventSeq: bigint('object_event_seq', { mode: 'number' }),
  clusterId: text('cluster_id'),
  eventSeq: bigint('event_seq', { mode: 'number' }),
  at: ts('at').notNull().defaultNow(),
});

// SCHEDULE triggers' state, kept by the schedule source's `saved` hook in the trigger's transaction
// and advanced by the scheduler in the transaction that queues each tick's delivery.
export const triggerSchedules = pgTable(
  'trigger_schedules',
  {
    triggerId: text('trigger_id')
      .primaryKey()
      .references(() => triggers.id, { onDelete: 'cascade' }),
    // what next_fire_at was computed from (the trigger's config may change under it)
    expression: text('expression').notNull(),
    timezone: text('timezone').notNull(),
    // a rate's first tick: when the schedule was created, changed or re-enabled (ticks are anchor + k·rate)
    anchorAt: ts('anchor_at').notNull(),
    // null: the trigger is disabled, or the schedule has no tick left (a cron whose years are past)
    nextFireAt: ts('next_fire_at'),
    // the scheduled time of the last tick delivered
    lastFiredAt: ts('last_fired_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('trigger_schedules_due_idx').on(t.nextFireAt).where(sql`next_fire_at is not null`)],
);
// HTTP trigger routes: one per HTTP trigger, unique on method and path shape (parameter names
// erased), so two triggers can never claim the same route, even when created at once.
export const httpRoutes = pgTable(
  'http_routes',
  {
    triggerId: text('trigger_id')
      .primaryKey()
      .references(() => triggers.id, { onDelete: 'cascade' }),
    // GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS | ANY
    method: text('method').notNull(),
    // e.g. /items/{}/files/{+}
    shape: text('shape').notNull(),
    // as written, e.g. /items/{id}/files/{path+}
    path: text('path').notNull(),
  },
  (t) => [uniqueIndex('http_routes_route_idx').on(t.method, t.shape)],
);

export type TriggerRow = typeof triggers.$inferSelect;
export type TriggerOutboxRow = typeof triggerOutbox.$inferSelect;
export type TriggerScheduleRow = typeof triggerSchedules.$inferSelect;

/**
 * A cluster or step state change (an `events` row; its payload has the reasons for a cluster, the
 * step's snapshot for a step) with the names CLUSTER_EVENTS triggers deliver joined in
 * (queries/outbox.ts stateChanges).
 */
export type StateChangeRow = Omit<EventRow, 'kind' | 'state'> & {
  kind: 'CLUSTER' | 'STEP';
  state: string;
  clusterName: string;
  stepName: string | null;
  actionOnFailure: string | null;
};
