import { getArgumentValues, Kind, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { pageSize, parseSeqCursor } from '../../platform/paging.js';
import { groupRows, instanceRows, stepRows, type Columns, type NestedShape, type StepPage } from '../queries/nested.js';
import { CLUSTER_FIELD_COLUMNS } from './mappers.js';

/** The page of steps `steps(first, after)` reads: one more than asked, to know whether a next page exists. */
export function stepPageRead(first: number | null | undefined, after: string | null | undefined): StepPage {
  return { limit: pageSize(first) + 1, beforePosition: after ? parseSeqCursor(after) : null };
}

/** The fields of `sets` (those of fragments and inline fragments included), in document order. */
function fieldsOf(info: GraphQLResolveInfo, sets: ReadonlyArray<SelectionSetNode | undefined>): FieldNode[] {
  const fields: FieldNode[] = [];
  const visit = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else visit(info.fragments[selection.name.value]?.selectionSet);
    }
  };
  for (const set of sets) visit(set);
  return fields;
}

const named = (fields: readonly FieldNode[], name: string) => fields.filter((f) => f.name.value === name);

/** The fields selected under `nodes`, following `path` (field names) down from them. */
function fieldsAt(info: GraphQLResolveInfo, nodes: readonly FieldNode[], path: readonly string[]): FieldNode[] {
  let fields = fieldsOf(
    info,
    nodes.map((f) => f.selectionSet),
  );
  for (const name of path)
    fields = fieldsOf(
      info,
      named(fields, name).map((f) => f.selectionSet),
    );
  return fields;
}

/** What a root field's selection shows, from its document alone (not from variables). */
interface Selected {
  row: Columns;
  groups: Columns | null;
  instances: Columns | null;
  steps: { field: FieldNode; columns: Columns } | null;
  /** the shape, when it has no page of steps */
  shape?: NestedShape;
}

// by the root field's node: documents come parsed once per text (DocumentCache), so this is worked
// out once per document rather than per request; each root field asks with its one fixed path
const selectedByField = new WeakMap<FieldNode, Selected>();

/**
 * What the statement reading the clusters a root field answers reads with them, from the request's
 * selection: the columns of the cluster rows it shows (CLUSTER_FIELD_COLUMNS) and the nested lists.
 * `path`: the fields from the root field down to the clusters (['edges', 'node'] for a
 * connection). Over-reading is harmless (a list under @skip is read and not shown); a list it
 * leaves out is read by its field resolver as before, so a `steps` page whose arguments are invalid
 * is left to its resolver to report.
 */
export function nestedSelection(info: GraphQLResolveInfo, path: string[] = []): NestedShape {
  const root = info.fieldNodes[0]!;
  let selected = selectedByField.get(root);
  if (!selected) selectedByField.set(root, (selected = selectedAt(info, path)));
  // no page of steps: the same shape for every request of the document (what keys its statement is worked out once)
  if (!selected.steps)
    return (selected.shape ??= { row: selected.row, groups: selected.groups, instances: selected.instances, steps: null });
  const page = stepPageOf(info, selected.steps.field);
  return {
    row: selected.row,
    groups: selected.groups,
    instances: selected.instances,
    steps: page && { ...page, columns: selected.steps!.columns },
  };
}

function selectedAt(info: GraphQLResolveInfo, path: string[]): Selected {
  const fields = fieldsAt(info, info.fieldNodes, path);
  const list = (name: string, typeName: string, rows: { keys: ReadonlySet<string> }, below: string[] = []) => {
    const occurrences = named(fields, name);
    return occurrences.length ? columnsOf(info, occurrences, below, typeName, rows.keys) : null;
  };
  const stepsFields = named(fields, 'steps');
  return {
    row: clusterColumnsOf(fields),
    groups: list('instanceGroups', 'InstanceGroup', groupRows),
    instances: list('instances', 'Instance', instanceRows),
    steps: stepsFields.length ? { field: stepsFields[0]!, columns: list('steps', 'Step', stepRows, ['edges', 'node'])! } : null,
  };
}

function clusterColumnsOf(fields: readonly FieldNode[]): Columns {
  const columns = new Set<string>();
  for (const field of fields) {
    const shown = CLUSTER_FIELD_COLUMNS[field.name.value];
    if (!shown) return 'all';
    for (const column of shown) columns.add(column);
  }
  return [...columns].sort();
}

/**
 * The columns the selection shows of a nested list's rows (every occurrence of the list merged):
 * only when each field selected is a column shown as it is (no resolver of its own, which may read
 * more of the row); otherwise every column.
 */
function columnsOf(info: GraphQLResolveInfo, lists: FieldNode[], below: string[], typeName: string, keys: ReadonlySet<string>): Columns {
  const fields = fieldsAt(info, lists, below);
  const definitions = (info.schema.getType(typeName) as GraphQLObjectType).getFields();
  const columns = new Set<string>();
  for (const field of fields) {
    const name = field.name.value;
    if (name === '__typename') continue;
    if (!keys.has(name) || definitions[name]?.resolve) return 'all';
    columns.add(name);
  }
  return [...columns].sort();
}

function stepPageOf(info: GraphQLResolveInfo, field: FieldNode): StepPage | null {
  const definition = (info.schema.getType('Cluster') as GraphQLObjectType).getFields().steps!;
  try {
    const { first, after } = getArgumentValues(definition, field, info.variableValues) as { first?: number | null; after?: string | null };
    return stepPageRead(first, after);
  } catch {
    return null;
  }
}
