// Hosts: the machines nodes run on (docs/hosts.md). The server's own machine is one (embedded);
// others join with a host token and keep a key of their own.
import { bigint, boolean, index, integer, jsonb, pgTable, real, text } from 'drizzle-orm/pg-core';
import type { RunningInstance } from '../engine/functions/types.js';
import type { HostInstallation, HostInstanceReport } from '../engine/host/protocol.js';
import { ts } from '../platform/db/columns.js';

export type HostState = 'READY' | 'DRAINING' | 'LOST' | 'REVOKED';
/** states that take new placements / keep their nodes */
export const PLACEABLE_HOST_STATES: HostState[] = ['READY'];

export const hosts = pgTable(
  'hosts',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    state: text('state').$type<HostState>().notNull(),
    stateReason: text('state_reason'),
    /** a server's own machine: its nodes are launched by that server's local driver */
    embedded: boolean('embedded').notNull(),
    /** the server (serverId) whose gateway holds the host's session, null when disconnected */
    connectedServer: text('connected_server'),
    address: text('address').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    vcpu: integer('vcpu').notNull(),
    memoryMb: integer('memory_mb').notNull(),
    diskMb: integer('disk_mb').notNull(),
    /** placement allocates up to capacity × overcommit (instance types are nominal on a shared machine) */
    overcommit: real('overcommit').notNull(),
    installation: jsonb('installation').$type<HostInstallation>(),
    /** the host token it joined with (its labels stay the host's) */
    tokenId: text('token_id'),
    /** credentialKey(secret) of the host, sealed with the platform secrets key (null: embedded, or revoked) */
    keySealed: text('key_sealed'),
    /** what the host last said of its node agents (alive, pid, oomKills), by heartbeat */
    reports: jsonb('reports').$type<HostInstanceReport[]>().notNull().default([]),
    /** the function instances on the host (by heartbeat; the embedded host's by its server): shown and allocated */
    functionInstances: jsonb('function_instances').$type<RunningInstance[]>().notNull().default([]),
    lastHeartbeatAt: ts('last_heartbeat_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('hosts_state_idx').on(t.state)],
);

/** One-time (by default) secrets a machine joins with; only their hash is kept. */
export const hostTokens = pgTable('host_tokens', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull().unique(),
  labels: jsonb('labels').$type<Record<string, string>>().notNull(),
  expiresAt: ts('expires_at').notNull(),
  /** false: any number of hosts may join with it until it expires */
  singleUse: boolean('single_use').notNull().default(true),
  /** set when a host first joined with it (a used single-use token is refused) */
  usedAt: ts('used_at'),
  usedBy: text('used_by'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Every host state change (and join), in order: the hostUpdates subscription's feed. */
export const hostEvents = pgTable(
  'host_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    hostId: text('host_id').notNull(),
    state: text('state').$type<HostState>().notNull(),
    message: text('message'),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('host_events_host_idx').on(t.hostId)],
);

export type HostRow = typeof hosts.$inferSelect;
export type HostTokenRow = typeof hostTokens.$inferSelect;
export type HostEventRow = typeof hostEvents.$inferSelect;
