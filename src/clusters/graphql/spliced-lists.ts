import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isEnumType,
  isNonNullType,
  isScalarType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Context } from '../../platform/graphql/context.js';
import { RawJson, type DocumentRewrite } from '../../platform/server/raw-json.js';
import { stepPageRead } from './look-ahead.js';
import {
  groupRows,
  instanceRows,
  MAX_KEY_LENGTH,
  stepRows,
  type NestedShape,
  type RawEntries,
  type RawList,
  type StepPage,
} from '../queries/nested.js';

// Page requests of `clusters` spend most of the server's time on the nested lists: Postgres builds
// their JSON, the server parsed it into rows, made objects of them, resolved each field and wrote
// the JSON again. Where a list's selection is plain columns, Postgres now builds the JSON of the
// response itself and it goes into the response as text (platform/server/raw-json.ts).

// the scalars whose JSON Postgres writes as graphql-js serializes them, from a column of these kinds
const PLAIN_SCALARS: Readonly<Record<string, readonly string[]>> = {
  ID: ['string'],
  String: ['string'],
  Int: ['integer'],
  Float: ['integer', 'number'],
  Boolean: ['boolean'],
};

const LISTS = {
  instanceGroups: { list: 'groups', type: 'InstanceGroup', rows: groupRows },
  instances: { list: 'instances', type: 'Instance', rows: instanceRows },
} as const;
const STEPS = { type: 'Step', rows: stepRows };

const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;

/**
 * The fields of a selection set when it is fields only, without directives or repeated response keys,
 * each key short enough to be a column's name in Postgres; else null.
 */
function plainFields(set: SelectionSetNode | undefined): FieldNode[] | null {
  if (!set) return null;
  const keys = new Set<string>();
  const fields: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length) return null;
    if (keys.has(responseKey(selection)) || responseKey(selection).length > MAX_KEY_LENGTH) return null;
    keys.add(responseKey(selection));
    fields.push(selection);
  }
  return fields;
}

/** The entries of a row's raw JSON for a selection, or null when one of its fields is not a column shown as it is. */
function entriesOf(schema: GraphQLSchema, field: FieldNode, of: { type: string; rows: typeof groupRows }): RawEntries | null {
  const fields = plainFields(field.selectionSet);
  if (!fields?.length) return null;
  const definitions = (schema.getType(of.type) as GraphQLObjectType).getFields();
  const entries: RawEntries[number][] = [];
  for (const f of fields) {
    const name = f.name.value;
    if (name === '__typename') {
      entries.push({ key: responseKey(f), column: null });
      continue;
    }
    const definition = definitions[name];
    if (!definition || definition.resolve || f.arguments?.length || f.selectionSet || !of.rows.keys.has(name)) return null;
    const type = getNamedType(definition.type);
    // an enum's values must be their names (as stored); a non-null field's column must never be null
    const kind = of.rows.jsonKind(name);
    const plain =
      (isScalarType(type) && PLAIN_SCALARS[type.name]?.includes(kind)) ||
      (isEnumType(type) && kind === 'string' && type.getValues().every((v) => v.value === v.name));
    if (!plain || (isNonNullType(definition.type) && of.rows.nullable(name))) return null;
    entries.push({ key: responseKey(f), column: name, ...(isEnumType(type) ? { allowed: type.getValues().map((v) => v.name) } : {}) });
  }
  return entries;
}

/** A raw list of the `steps` connection (page from the request's arguments), when it selects edges of plain columns only. */
function stepsOf(schema: GraphQLSchema, field: FieldNode): Extract<RawList, { list: 'steps' }> | null {
  const connection: { key: string; is: 'edges' | '__typename' }[] = [];
  const edge: { key: string; is: 'cursor' | 'node' | '__typename' }[] = [];
  let entries: RawEntries | null = null;
  for (const f of plainFields(field.selectionSet) ?? []) {
    if (f.name.value === '__typename') connection.push({ key: responseKey(f), is: '__typename' });
    else if (f.name.value !== 'edges' || connection.some((c) => c.is === 'edges')) return null;
    else {
      connection.push({ key: responseKey(f), is: 'edges' });
      for (const e of plainFields(f.selectionSet) ?? []) {
        const is = e.name.value;
        if (is !== 'cursor' && is !== 'node' && is !== '__typename') return null;
        if (is === 'node') {
          if (entries) return null;
          entries = entriesOf(schema, e, STEPS);
          if (!entries) return null;
        }
        edge.push({ key: responseKey(e), is });
      }
    }
  }
  return entries && edge.length ? { list: 'steps', connection, edge, entries } : null;
}

/** Where the raw lists of one `clusters` root field go: under edges (its response key), node, at these keys. */
interface RootLists {
  edges: string;
  node: string;
  keys: string[];
  lists: RawList[];
  /** the `steps` fields of the lists (null for the others): their pages come from their arguments */
  fields: (FieldNode | null)[];
  /** the pages when no argument of a `steps` field is a variable: the same for every request */
  pages: (StepPage | null)[] | null;
}

type RawRead = NonNullable<NestedShape['raw']>;

/** What a request's `clusters` resolvers read: the raw lists of each page's clusters, by root response key. */
export class RawListsRead {
  readonly pages = new Map<string, (string[] | undefined)[]>();

  constructor(private readonly lists: ReadonlyMap<string, RawRead>) {}

  /** the raw lists to read with the clusters of the root field at `rootKey` (none: undefined) */
  listsOf(rootKey: string | number): RawRead | undefined {
    return this.lists.get(String(rootKey));
  }
}

// the shape with raw lists of each shape and raw lists (both the same objects for every request of most documents)
const shapesWithRaw = new WeakMap<RawRead, WeakMap<NestedShape, NestedShape>>();

/** `nested` with the raw lists `raw`, the same object each time for the same two. */
export function withRawLists(nested: NestedShape, raw: RawRead): NestedShape {
  let byShape = shapesWithRaw.get(raw);
  if (!byShape) shapesWithRaw.set(raw, (byShape = new WeakMap()));
  let shape = byShape.get(nested);
  if (!shape) byShape.set(nested, (shape = { ...nested, raw }));
  return shape;
}

const stepsDefinition = (schema: GraphQLSchema) => (schema.getType('Cluster') as GraphQLObjectType).getFields().steps!;

/** The pages of a root's `steps` lists for these (coerced) variables; throws what their resolver would. */
function pagesOf(schema: GraphQLSchema, fields: readonly (FieldNode | null)[], values: Record<string, unknown>): (StepPage | null)[] {
  return fields.map((field) => {
    if (!field) return null;
    const { first, after } = getArgumentValues(stepsDefinition(schema), field, values) as { first?: number | null; after?: string | null };
    return stepPageRead(first, after);
  });
}

/**
 * The raw lists of each root field for a request's variables, or null when a page of steps has
 * arguments its resolver refuses (the document as sent reports them).
 */
function listsFor(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  roots: ReadonlyMap<string, RootLists>,
  variables: Record<string, unknown>,
): Map<string, RawRead> | null {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) return null;
  try {
    return new Map([...roots].map(([key, root]) => [key, { lists: root.lists, pages: pagesOf(schema, root.fields, coerced.coerced) }]));
  } catch {
    return null;
  }
}

/**
 * The rewrite of a query whose `clusters` root fields select nested lists of plain columns
 * (`clusters { edges { node { instanceGroups { id role } } } }`): each such list becomes
 * `key: __typename` in the document run, and its JSON text, read with the page, takes that place in
 * the data. Anything else (fragments, directives, arguments, fields with resolvers, DateTime and JSON
 * scalars) runs as sent.
 */
export function rewriteClusterLists(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): DocumentRewrite | null {
  if (operation.operation !== 'query' || document.definitions.some((d) => d.kind === Kind.FRAGMENT_DEFINITION)) return null;
  const roots = new Map<string, RootLists>();
  const rootFields = plainFields(operation.selectionSet);
  if (!rootFields) return null;
  const rewritten = rootFields.map((root) => {
    if (root.name.value !== 'clusters') return root;
    const edges = plainFields(root.selectionSet)?.filter((f) => f.name.value === 'edges');
    if (edges?.length !== 1) return root;
    const edgeFields = plainFields(edges[0]!.selectionSet);
    const node = edgeFields?.filter((f) => f.name.value === 'node');
    if (node?.length !== 1) return root;
    const nodeFields = plainFields(node[0]!.selectionSet);
    if (!nodeFields) return root;
    const lists: RootLists = { edges: responseKey(edges[0]!), node: responseKey(node[0]!), keys: [], lists: [], fields: [], pages: null };
    const newNodeFields = nodeFields.map((f) => {
      const of = LISTS[f.name.value as keyof typeof LISTS];
      const entries = of && !f.arguments?.length && entriesOf(schema, f, of);
      const list: RawList | null = entries ? { list: of.list, entries } : f.name.value === 'steps' ? stepsOf(schema, f) : null;
      if (!list) return f;
      lists.keys.push(responseKey(f));
      lists.lists.push(list);
      lists.fields.push(list.list === 'steps' ? f : null);
      // in its place meanwhile: a field every object has, under the same response key
      return {
        kind: Kind.FIELD,
        alias: { kind: Kind.NAME, value: responseKey(f) },
        name: { kind: Kind.NAME, value: '__typename' },
      } as FieldNode;
    });
    if (!lists.lists.length) return root;
    // literal arguments: the pages are worked out once (arguments the resolver refuses: the document runs as sent)
    if (lists.fields.every((f) => !f?.arguments?.some((a) => a.value.kind === Kind.VARIABLE))) {
      try {
        lists.pages = pagesOf(schema, lists.fields, {});
      } catch {
        return root;
      }
    }
    roots.set(responseKey(root), lists);
    const withSelections = <T extends FieldNode>(field: T, selections: readonly FieldNode[]): T => ({
      ...field,
      selectionSet: { ...field.selectionSet!, selections },
    });
    const newNode = withSelections(node[0]!, newNodeFields);
    const newEdges = withSelections(
      edges[0]!,
      edgeFields!.map((f) => (f === node[0] ? newNode : f)),
    );
    return withSelections(
      root,
      plainFields(root.selectionSet)!.map((f) => (f === edges[0] ? newEdges : f)),
    );
  });
  if (!roots.size) return null;
  // every page worked out once: the lists and pages the resolvers read are the same for every request
  const constant = [...roots.values()].every((r) => r.pages)
    ? new Map([...roots].map(([key, r]) => [key, { lists: r.lists, pages: r.pages! }]))
    : null;
  const newOperation: OperationDefinitionNode = { ...operation, selectionSet: { ...operation.selectionSet, selections: rewritten } };
  return {
    document: { ...document, definitions: document.definitions.map((d) => (d === operation ? newOperation : d)) },
    state(variables) {
      if (constant) return new RawListsRead(constant);
      const lists = listsFor(schema, operation, roots, variables);
      return lists && new RawListsRead(lists);
    },
    finish(data: Record<string, unknown>, context: Context) {
      const read = context.rewrite as RawListsRead;
      for (const [rootKey, { edges, node, keys }] of roots) {
        const connection = data[rootKey] as Record<string, unknown> | null | undefined;
        const texts = read.pages.get(rootKey);
        if (!connection || !texts) continue;
        (connection[edges] as (Record<string, Record<string, unknown> | null> | null)[]).forEach((edge, i) => {
          const cluster = edge?.[node];
          if (!cluster) return;
          keys.forEach((key, j) => {
            cluster[key] = new RawJson(texts[i]![j]!);
          });
        });
      }
    },
  };
}
