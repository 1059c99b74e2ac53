import {
  getNamedType,
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
import { groupRows, instanceRows, type RawList } from '../queries/nested.js';

// Page requests of `clusters` spend most of the server's time on the nested lists: Postgres builds
// their JSON, the server parsed it into rows, made objects of them, resolved each field and wrote
// the JSON again. Where a list's selection is plain columns, Postgres now builds the JSON of the
// response itself and it goes into the response as text (platform/server/raw-json.ts).

// the scalars whose JSON Postgres writes as graphql-js serializes them (a column of their kind)
const PLAIN_SCALARS = new Set(['ID', 'String', 'Int', 'Float', 'Boolean']);

const LISTS = {
  instanceGroups: { list: 'groups', type: 'InstanceGroup', rows: groupRows },
  instances: { list: 'instances', type: 'Instance', rows: instanceRows },
} as const;

const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;

/** The fields of a selection set when it is fields only, without directives or repeated response keys; else null. */
function plainFields(set: SelectionSetNode | undefined): FieldNode[] | null {
  if (!set) return null;
  const keys = new Set<string>();
  const fields: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length || keys.has(responseKey(selection))) return null;
    keys.add(responseKey(selection));
    fields.push(selection);
  }
  return fields;
}

/** The entries of a list's raw JSON for its selection, or null when one of its fields is not a column shown as it is. */
function entriesOf(schema: GraphQLSchema, field: FieldNode, of: (typeof LISTS)[keyof typeof LISTS]): RawList['entries'] | null {
  if (field.arguments?.length) return null;
  const fields = plainFields(field.selectionSet);
  if (!fields?.length) return null;
  const definitions = (schema.getType(of.type) as GraphQLObjectType).getFields();
  const entries: RawList['entries'][number][] = [];
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
    const plain =
      (isScalarType(type) && PLAIN_SCALARS.has(type.name)) || (isEnumType(type) && type.getValues().every((v) => v.value === v.name));
    if (!plain || (isNonNullType(definition.type) && of.rows.nullable(name))) return null;
    entries.push({ key: responseKey(f), column: name, ...(isEnumType(type) ? { allowed: type.getValues().map((v) => v.name) } : {}) });
  }
  return entries;
}

/** Where the raw lists of one `clusters` root field go: under edges (its response key), node, at these keys. */
interface RootLists {
  edges: string;
  node: string;
  lists: (RawList & { key: string })[];
}

/** What a request's `clusters` resolvers read: the raw lists of each page's clusters, by root response key. */
export class RawListsRead {
  readonly pages = new Map<string, (string[] | undefined)[]>();

  constructor(private readonly roots: ReadonlyMap<string, RootLists>) {}

  /** the raw lists to read with the clusters of the root field at `rootKey` (none: undefined) */
  listsOf(rootKey: string | number): readonly RawList[] | undefined {
    return this.roots.get(String(rootKey))?.lists;
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
    const lists: RootLists['lists'] = [];
    const newNodeFields = nodeFields.map((f) => {
      const of = LISTS[f.name.value as keyof typeof LISTS];
      const entries = of && entriesOf(schema, f, of);
      if (!entries) return f;
      lists.push({ list: of.list, entries, key: responseKey(f) });
      // in its place meanwhile: a field every object has, under the same response key
      return {
        kind: Kind.FIELD,
        alias: { kind: Kind.NAME, value: responseKey(f) },
        name: { kind: Kind.NAME, value: '__typename' },
      } as FieldNode;
    });
    if (!lists.length) return root;
    roots.set(responseKey(root), { edges: responseKey(edges[0]!), node: responseKey(node[0]!), lists });
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
  const newOperation: OperationDefinitionNode = { ...operation, selectionSet: { ...operation.selectionSet, selections: rewritten } };
  return {
    document: { ...document, definitions: document.definitions.map((d) => (d === operation ? newOperation : d)) },
    state: () => new RawListsRead(roots),
    finish(data: Record<string, unknown>, context: Context) {
      const read = context.rewrite as RawListsRead;
      for (const [rootKey, { edges, node, lists }] of roots) {
        const connection = data[rootKey] as Record<string, unknown> | null | undefined;
        const texts = read.pages.get(rootKey);
        if (!connection || !texts) continue;
        (connection[edges] as (Record<string, Record<string, unknown> | null> | null)[]).forEach((edge, i) => {
          const cluster = edge?.[node];
          if (!cluster) return;
          lists.forEach(({ key }, j) => {
            cluster[key] = new RawJson(texts[i]![j]!);
          });
        });
      }
    },
  };
}
