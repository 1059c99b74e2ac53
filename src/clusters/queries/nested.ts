import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import type { Db } from '../../platform/db/client.js';
import { instanceGroups, instances, steps, type ClusterRow, type InstanceGroupRow, type InstanceRow, type StepRow } from '../tables.js';

/**
 * The nested lists of a cluster that a request selects, read in the statement that reads the
 * clusters themselves (as JSON built by Postgres) instead of one statement per list afterwards.
 */
export interface NestedShape {
  groups: boolean;
  instances: boolean;
  /** the page of steps, newest first: `limit` rows before `beforePosition` (null: from the newest) */
  steps: { limit: number; beforePosition: number | null } | null;
}

export interface NestedRows {
  groups?: InstanceGroupRow[];
  instances?: InstanceRow[];
  steps?: StepRow[];
}

/** A cluster row as read with its nested lists (only those of the shape it was read with). */
export interface NestedColumns {
  nestedGroups?: unknown[];
  nestedInstances?: unknown[];
  nestedSteps?: unknown[];
}

/**
 * A table's rows as JSON objects with the keys and values postgres.js gives them (camelCase keys;
 * timestamps come back as ISO text and become Dates like postgres.js's own parser makes them).
 */
function jsonRowOf(table: PgTable, alias: string) {
  const columns = Object.values(getTableColumns(table));
  const pairs = columns.map((c) => `'${postgres.toCamel(c.name)}', ${alias}.${c.name}`);
  const dates = columns.filter((c) => c.dataType === 'date').map((c) => postgres.toCamel(c.name));
  return {
    sql: `json_build_object(${pairs.join(', ')})`,
    /** turns one parsed JSON row into the row postgres.js would have given, in place */
    revive: <T>(row: Record<string, unknown>): T => {
      for (const key of dates) if (row[key] !== null) row[key] = new Date(row[key] as string);
      return row as T;
    },
  };
}

const groupJson = jsonRowOf(instanceGroups, 'g');
const instanceJson = jsonRowOf(instances, 'i');
const stepJson = jsonRowOf(steps, 's');

// the orders of groupsOfClusters, instancesOfClusters and stepPages
const GROUPS = `coalesce((select json_agg(${groupJson.sql} order by case g.role when 'MASTER' then 0 when 'CORE' then 1 else 2 end, g.created_at)
  from instance_groups g where g.cluster_id = c.id), '[]')`;
const INSTANCES = `coalesce((select json_agg(${instanceJson.sql} order by case i.role when 'MASTER' then 0 when 'CORE' then 1 else 2 end, i.created_at, i.id)
  from instances i where i.cluster_id = c.id), '[]')`;

/**
 * The select-list items reading a shape's nested lists of the cluster aliased `c`, each a JSON
 * array (nested_groups, nested_instances, nested_steps); nothing when the shape selects none. The
 * page of steps takes its limit and position as parameters: one prepared statement per shape.
 */
export function nestedColumns(db: Db, shape: NestedShape | null) {
  if (!shape) return db``;
  const { groups, instances: nodes, steps: page } = shape;
  return db`${groups ? db`, ${db.unsafe(GROUPS)} as nested_groups` : db``}${nodes ? db`, ${db.unsafe(INSTANCES)} as nested_instances` : db``}${
    page
      ? db`, coalesce((select json_agg(p.row order by p.position desc) from (
          select ${db.unsafe(stepJson.sql)} as row, s.position from steps s where s.cluster_id = c.id
            ${page.beforePosition !== null ? db`and s.position < ${page.beforePosition}` : db``}
          order by s.position desc limit ${page.limit}) p), '[]') as nested_steps`
      : db``
  }`;
}

/** A cluster row with the nested lists it was read with (only those of its shape). */
export type ClusterTree = ClusterRow & { nested: NestedRows };

/** Takes a read row's nested columns off it, as rows: what remains is the row as `select *` gives it. */
export function withNested<R extends NestedColumns>(read: R): Omit<R, keyof NestedColumns> & { nested: NestedRows } {
  const { nestedGroups, nestedInstances, nestedSteps, ...row } = read;
  const nested: NestedRows = {};
  if (nestedGroups) nested.groups = nestedGroups.map((r) => groupJson.revive<InstanceGroupRow>(r as Record<string, unknown>));
  if (nestedInstances) nested.instances = nestedInstances.map((r) => instanceJson.revive<InstanceRow>(r as Record<string, unknown>));
  if (nestedSteps) nested.steps = nestedSteps.map((r) => stepJson.revive<StepRow>(r as Record<string, unknown>));
  return { ...row, nested };
}
