import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
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
  /**
   * lists read as the JSON text of a response (RawList), in this order, and the page of each page
   * of steps among them (null for the others): the lists are the same object for every request of a
   * document, which keeps the key of their statement cheap
   */
  raw?: { lists: readonly RawList[]; pages: readonly (StepPage | null)[] };
}

/**
 * A nested list of a cluster read as the JSON text its part of a response is: an array of objects
 * with these keys (response keys) in this order, each a column's value (`column`) or the type's name.
 */
export type RawList =
  | { list: 'groups' | 'instances'; entries: RawEntries }
  | {
      /** a page of steps as a connection of `edges` (only): its keys, each edge's (`cursor`, `node`) and each node's */
      list: 'steps';
      connection: readonly { key: string; is: 'edges' | '__typename' }[];
      edge: readonly { key: string; is: 'cursor' | 'node' | '__typename' }[];
      entries: RawEntries;
    };

/** `allowed`: the values of an enum's column (its names); `column` null: the type's name */
export type RawEntries = readonly { key: string; column: string | null; allowed?: readonly string[] }[];

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
  /** the JSON text of the shape's raw lists, in their order */
  raw?: string[];
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
    /** the record of a row of `alias` whose JSON is the row's object (`record`): its keys are the table's own, never a request's text */
    fields(columns: Columns): string {
      const keys = columns === 'all' ? [...byKey.keys()] : [...new Set([...always, ...columns])].filter((k) => byKey.has(k));
      return keys.map((k) => `${alias}.${byKey.get(k)!.name} as "${k}"`).join(', ');
    },
    /** whether a key's column may hold null */
    nullable: (key: string): boolean => !byKey.get(key)!.notNull,
    /** what Postgres writes a key's column as in JSON: a string, an integer, a number, a boolean or anything else */
    jsonKind(key: string): 'string' | 'integer' | 'number' | 'boolean' | 'other' {
      const { dataType, columnType } = byKey.get(key)!;
      if (dataType === 'string' || dataType === 'boolean') return dataType;
      if (dataType === 'number') return columnType === 'PgInteger' || columnType === 'PgSmallInt' ? 'integer' : 'number';
      return 'other';
    },
    /**
     * The record of a row of `alias` whose JSON is the object of `entries`' keys (response keys: GraphQL
     * names, at most MAX_KEY_LENGTH long) and `typename` for a null column (`record`).
     */
    entryFields(entries: RawEntries, typename: string): string {
      const values = entries.map(({ key, column, allowed }) => {
        if (column === null) return `text '${typename}' as "${key}"`;
        const value = `${alias}.${byKey.get(column)!.name}`;
        if (!allowed) return `${value} as "${key}"`;
        // a value outside its enum fails the statement (a subquery of two rows: an internal error, as the
        // executor's for such a field), where the JSON would show it
        const known = `${value} is null or ${value} in (${allowed.map((v) => `'${v}'`).join(', ')})`;
        return `case when ${known} then ${value} else (select ${value} from (values (1), (2)) outside(n)) end as "${key}"`;
      });
      return values.join(', ');
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

/**
 * A join making `as` the record of `fields` (a select list) for each row before it: Postgres writes a
 * record as the JSON object of its columns (`json_agg(as)`, `row_to_json(as)`), for about two thirds
 * of the CPU of json_build_object with the same keys and values (the join costs nothing: Postgres
 * folds a FROM-less subquery into its query).
 */
export const record = (fields: string, as: string) => `cross join lateral (select ${fields}) ${as}`;

/** Postgres cuts a column name longer than this (NAMEDATALEN - 1): a longer response key is not read as a record's column. */
export const MAX_KEY_LENGTH = 63;

// the orders of groupsOfClusters, instancesOfClusters and stepPages
const ROLE_ORDER = (alias: string) => `case ${alias}.role when 'MASTER' then 0 when 'CORE' then 1 else 2 end`;

/**
 * A statement's text with numbered parameters ($1, $2, …) and how to take their values from the
 * input of one call: the text is built once per key (prepared once by postgres.js, by its text) and
 * each call only gathers its values. Fragments (sql`…`) put together per call cost more than the
 * statement itself in the server's profile (each one is a Promise subclass).
 */
export interface Statement<I> {
  text: string;
  values(input: I): unknown[];
}

/** `build` writes the text, calling `param` for each parameter with how to read its value from an input. */
export function statement<I>(build: (param: (read: (input: I) => unknown) => string) => string): Statement<I> {
  const reads: ((input: I) => unknown)[] = [];
  const text = build((read) => {
    reads.push(read);
    return `$${reads.length}`;
  });
  return { text, values: (input) => reads.map((read) => read(input)) };
}

// documents decide the keys: a bound keeps a stream of distinct selections from growing the cache
const MAX_STATEMENTS = 500;

/** The statements already built, by key; `build` makes the one of a key not built yet. */
export function statementCache<I>(build: (input: I) => Statement<I>) {
  const built = new Map<string, Statement<I>>();
  return (key: string, input: I): Statement<I> => {
    let found = built.get(key);
    if (!found) {
      if (built.size >= MAX_STATEMENTS) built.clear();
      built.set(key, (found = build(input)));
    }
    return found;
  };
}

/**
 * What of a shape the text of its statement depends on (the step page's limit and position are
 * parameters; whether there is a position is not).
 */
export function shapeKey(shape: NestedShape): string {
  let key = shapeKeys.get(shape);
  if (key === undefined) shapeKeys.set(shape, (key = shapeKeyOf(shape)));
  return key;
}

// shapes are never changed once made, and most requests of a document share theirs (look-ahead.ts)
const shapeKeys = new WeakMap<NestedShape, string>();

function shapeKeyOf(shape: NestedShape): string {
  const { steps } = shape;
  return JSON.stringify([
    shape.row,
    shape.groups,
    shape.instances,
    steps && [steps.columns, steps.beforePosition !== null],
    // a raw page of steps likewise
    shape.raw ? [rawListsKey(shape.raw.lists), shape.raw.pages.map((p) => p && p.beforePosition !== null)] : null,
  ]);
}

const rawListsKeys = new WeakMap<readonly RawList[], string>();
function rawListsKey(lists: readonly RawList[]): string {
  let key = rawListsKeys.get(lists);
  if (key === undefined) rawListsKeys.set(lists, (key = JSON.stringify(lists)));
  return key;
}

/**
 * The parts of a statement reading a shape's nested lists of the clusters aliased `c`: select-list
 * items (`columns`), each a JSON array (nested_groups, nested_instances, nested_steps) or a raw
 * list's text, and the joins they read from (`joins`, after `from … c`); nothing when the shape
 * selects none. Groups and instances are read for all the statement's clusters at once (one scan
 * and one sort per list, grouped by cluster) rather than by a subquery per cluster (an index scan,
 * a sort and an aggregate each): at a batch of ten pages of five clusters, Postgres's time per page
 * went from 0.41 to 0.25 ms. A statement of one page alone runs faster with subqueries (0.40 against
 * 0.69 ms, generic plans, 60 clusters), but reading single pages that way lost a fifth of the bench's
 * distinct-pages throughput (four alternate pairs, 2026-12-08), the server's and Postgres's CPU per
 * request both higher (likely: faster single pages, smaller batches, more statements). A page of
 * steps stays a subquery per cluster (an index scan of its newest steps, however many the cluster
 * has) and takes its limit and position as parameters (`stepPage` reads them from the input).
 * `of`: the condition on a list's cluster_id column naming the clusters whose lists are read.
 * `when`: a condition on `c` under which the lists are shown (null for the other rows), e.g. not
 * for the row read only to know whether a next page exists.
 */
export function nestedColumns<I>(
  shape: NestedShape,
  param: (read: (input: I) => unknown) => string,
  shapeOf: (input: I) => NestedShape,
  lists: { of: (clusterId: string) => string; when?: string },
): { columns: string; joins: string } {
  const { of, when } = lists;
  const stepPage = (input: I) => shapeOf(input).steps!;
  const { groups, instances: nodes, steps: page } = shape;
  const only = (list: string) => (when ? `case when ${when} then ${list} end` : list);
  let columns = '';
  let joins = '';
  /** a list of the clusters' rows of `table` (aliased `alias`) as a column of `read`, the join's alias; `fields`: each row's record */
  const grouped = (read: string, fields: string, table: string, alias: string, order: string) => {
    joins += ` left join (select ${alias}.cluster_id, json_agg(${alias}_json order by ${order}) as list
          from ${table} ${alias} ${record(fields, `${alias}_json`)} where ${of(`${alias}.cluster_id`)} group by ${alias}.cluster_id) ${read} on ${read}.cluster_id = c.id`;
    return `coalesce(${read}.list, '[]')`;
  };
  const GROUP_ORDER = `${ROLE_ORDER('g')}, g.created_at`;
  const INSTANCE_ORDER = `${ROLE_ORDER('i')}, i.created_at, i.id`;
  if (groups)
    columns += `, ${only(grouped('read_groups', groupRows.fields(groups), 'instance_groups', 'g', GROUP_ORDER))} as nested_groups`;
  if (nodes)
    columns += `, ${only(grouped('read_instances', instanceRows.fields(nodes), 'instances', 'i', INSTANCE_ORDER))} as nested_instances`;
  shape.raw?.lists.forEach((raw, j) => {
    if (raw.list === 'steps') {
      const pageOf = (input: I) => shapeOf(input).raw!.pages[j]!;
      const before =
        shape.raw!.pages[j]!.beforePosition !== null ? `and s.position < ${param((input) => pageOf(input).beforePosition)}` : '';
      const edge = raw.edge
        .map(({ key, is }) => `${is === 'cursor' ? 'p.position::text' : is === 'node' ? 'p.node' : `text 'StepEdge'`} as "${key}"`)
        .join(', ');
      const connection = raw.connection.map(
        ({ key, is }) => `'${key}', ${is === 'edges' ? `coalesce(json_agg(edge order by p.position desc), '[]')` : `'StepConnection'`}`,
      );
      // the page shown: `limit` is one more (whether a next page exists), which only pageInfo shows
      columns += `, (${only(`(select json_build_object(${connection.join(', ')}) from (
          select s.position, node from steps s ${record(stepRows.entryFields(raw.entries, 'Step'), 'node')}
          where s.cluster_id = c.id ${before}
          order by s.position desc limit ${param((input) => pageOf(input).limit - 1)}) p ${record(edge, 'edge')})`)})::text as raw_list_${j}`;
      return;
    }
    const list =
      raw.list === 'groups'
        ? grouped(`read_raw_${j}`, groupRows.entryFields(raw.entries, 'InstanceGroup'), 'instance_groups', 'g', GROUP_ORDER)
        : grouped(`read_raw_${j}`, instanceRows.entryFields(raw.entries, 'Instance'), 'instances', 'i', INSTANCE_ORDER);
    columns += `, (${only(list)})::text as raw_list_${j}`;
  });
  if (page) {
    const before = page.beforePosition !== null ? `and s.position < ${param((input) => stepPage(input).beforePosition)}` : '';
    columns += `, ${only(`coalesce((select json_agg(p.step_json order by p.position desc) from (
          select step_json, s.position from steps s ${record(stepRows.fields(page.columns), 'step_json')} where s.cluster_id = c.id ${before}
          order by s.position desc limit ${param((input) => stepPage(input).limit)}) p), '[]')`)} as nested_steps`;
  }
  return { columns, joins };
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
  const tree: ClusterTree = { row: clusterRows.revive<ClusterRow>([read.row])[0]!, nested };
  if (shape.raw) tree.raw = shape.raw.lists.map((_, j) => (read as unknown as Record<string, string>)[`rawList${j}`]!);
  return tree;
}
