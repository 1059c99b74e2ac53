import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import type { Db } from '../../platform/db/client.js';
import {
  clusters,
  instanceGroups,
  instances,
  steps,
  type ClusterRow,
  type InstanceGroupRow,
  type InstanceRow,
  type StepRow,
} from '../tables.js';

/**
 * Which columns of a nested list's rows are read: every one, or only these keys (camelCase, as in
 * the rows), when all that the request shows of the rows are those columns as they are.
 */
export type Columns = 'all' | readonly string[];

/** A page of a cluster's steps, newest first: `limit` rows before `beforePosition` (null: from the newest). */
export interface StepPage {
  limit: number;
  beforePosition: number | null;
}

/**
 * What a request shows of the clusters it reads: the columns of their rows, and the nested lists
 * it selects, read in the statement that reads the clusters themselves (as JSON built by Postgres)
 * instead of one statement per list afterwards.
 */
export interface NestedShape {
  /** the cluster row's columns: a row read with fewer than 'all' answers that selection only */
  row: Columns;
  groups: Columns | null;
  instances: Columns | null;
  steps: (StepPage & { columns: Columns }) | null;
}

/**
 * The nested lists read with a cluster. Their rows hold the columns of the shape they were read
 * with and nothing else: they answer the selection they were read for, and never enter a loader.
 */
export interface NestedRows {
  groups?: InstanceGroupRow[];
  instances?: InstanceRow[];
  steps?: { page: StepPage; rows: StepRow[] };
}

/** Whole cluster rows and no nested list: what a read that knows nothing of a selection reads. */
export const WHOLE_ROWS: NestedShape = { row: 'all', groups: null, instances: null, steps: null };

/** A cluster row (the columns of its shape) and the nested lists read with it (only those of its shape). */
export interface ClusterTree {
  row: ClusterRow;
  nested: NestedRows;
}

/** The page of steps read with a cluster, when it is the page asked for. */
export function nestedStepPage(nested: NestedRows | undefined, page: StepPage): StepRow[] | undefined {
  const read = nested?.steps;
  return read && read.page.limit === page.limit && read.page.beforePosition === page.beforePosition ? read.rows : undefined;
}

/**
 * A table's rows as JSON objects with the keys and values postgres.js gives them (camelCase keys;
 * timestamps come back as ISO text and become Dates like postgres.js's own parser makes them).
 * `always`: the keys read whatever the selection (ids, what cursors and grouping use).
 */
function jsonRows(table: PgTable, alias: string, always: readonly string[]) {
  const byKey = new Map(Object.values(getTableColumns(table)).map((c) => [postgres.toCamel(c.name), c]));
  const dates = [...byKey].filter(([, c]) => c.dataType === 'date').map(([key]) => key);
  return {
    keys: new Set(byKey.keys()) as ReadonlySet<string>,
    /** the JSON object of a row of `alias`: its keys are the table's own, never a request's text */
    sql(columns: Columns): string {
      const keys = columns === 'all' ? [...byKey.keys()] : [...new Set([...always, ...columns])].filter((k) => byKey.has(k));
      return `json_build_object(${keys.map((k) => `'${k}', ${alias}.${byKey.get(k)!.name}`).join(', ')})`;
    },
    /** turns parsed JSON rows into the rows postgres.js would have given, in place */
    revive<T>(rows: unknown[]): T[] {
      for (const row of rows as Record<string, unknown>[])
        for (const key of dates) if (typeof row[key] === 'string') row[key] = new Date(row[key] as string);
      return rows as T[];
    },
  };
}

// a cluster row comes as JSON too (parsed by JSON.parse, not column by column); a page's cursors need createdAt
export const clusterRows = jsonRows(clusters, 'c', ['id', 'createdAt']);
export const groupRows = jsonRows(instanceGroups, 'g', ['id', 'clusterId']);
export const instanceRows = jsonRows(instances, 'i', ['id', 'clusterId']);
export const stepRows = jsonRows(steps, 's', ['id', 'clusterId', 'position']);

// the orders of groupsOfClusters, instancesOfClusters and stepPages
const ROLE_ORDER = (alias: string) => `case ${alias}.role when 'MASTER' then 0 when 'CORE' then 1 else 2 end`;

/**
 * The select-list items reading a shape's nested lists of the cluster aliased `c`, each a JSON
 * array (nested_groups, nested_instances, nested_steps); nothing when the shape selects none. The
 * page of steps takes its limit and position as parameters: one prepared statement per shape.
 * `when`: a condition on `c` under which the lists are read (null for the other rows), e.g. not for
 * the row read only to know whether a next page exists.
 */
export function nestedColumns(db: Db, shape: NestedShape, when?: postgres.Fragment) {
  const { groups, instances: nodes, steps: page } = shape;
  const only = (list: postgres.Fragment) => (when ? db`case when ${when} then ${list} end` : list);
  return db`${
    groups
      ? db`, ${only(db`coalesce((select json_agg(${db.unsafe(groupRows.sql(groups))} order by ${db.unsafe(ROLE_ORDER('g'))}, g.created_at)
          from instance_groups g where g.cluster_id = c.id), '[]')`)} as nested_groups`
      : db``
  }${
    nodes
      ? db`, ${only(db`coalesce((select json_agg(${db.unsafe(instanceRows.sql(nodes))} order by ${db.unsafe(ROLE_ORDER('i'))}, i.created_at, i.id)
          from instances i where i.cluster_id = c.id), '[]')`)} as nested_instances`
      : db``
  }${
    page
      ? db`, ${only(db`coalesce((select json_agg(p.row order by p.position desc) from (
          select ${db.unsafe(stepRows.sql(page.columns))} as row, s.position from steps s where s.cluster_id = c.id
            ${page.beforePosition !== null ? db`and s.position < ${page.beforePosition}` : db``}
          order by s.position desc limit ${page.limit}) p), '[]')`)} as nested_steps`
      : db``
  }`;
}

/** A cluster read with the nested columns of a shape: the row as JSON (`clusterRows`) beside its lists. */
export interface NestedColumns {
  row: unknown;
  nestedGroups?: unknown[] | null;
  nestedInstances?: unknown[] | null;
  nestedSteps?: unknown[] | null;
}

/** The cluster row and its nested lists as rows, from what a statement read (the lists absent where null). */
export function withNested(read: NestedColumns, shape: NestedShape): ClusterTree {
  const { nestedGroups, nestedInstances, nestedSteps } = read;
  const nested: NestedRows = {};
  if (nestedGroups) nested.groups = groupRows.revive(nestedGroups);
  if (nestedInstances) nested.instances = instanceRows.revive(nestedInstances);
  if (nestedSteps && shape.steps) {
    const { limit, beforePosition } = shape.steps;
    nested.steps = { page: { limit, beforePosition }, rows: stepRows.revive(nestedSteps) };
  }
  return { row: clusterRows.revive<ClusterRow>([read.row])[0]!, nested };
}
