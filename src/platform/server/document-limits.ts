import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isInputObjectType,
  isUnionType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isEnumType,
  getIntrospectionQuery,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { AppError } from '../errors.js';

/**
 * The API edge's limits, in one place (docs/api.md "Limits"). Every document is checked against them
 * before graphql-js validates it: the checks are linear in the document, the standard rules are not
 * (overlapping-field checks are quadratic in repeated fields), so a hostile document is refused
 * before any expensive work.
 */
export const QUERY_LIMITS = {
  /** lexer tokens in a document: the standard introspection query has under 200 */
  maxTokens: 5_000,
  /** characters in a document, checked before parsing (large values belong in variables) */
  maxDocumentLength: 100_000,
  /** nested object fields, introspection's fields not counted (its type references nest ~10 deep) */
  maxDepth: 12,
  /** estimated fields resolved, each multiplied by the page sizes around it */
  maxComplexity: 50_000,
  /**
   * estimated introspection fields (in-memory schema reads, with the schema's real list sizes), as a
   * multiple of what graphql-js's full `getIntrospectionQuery()` costs on this schema: the standard
   * query always passes however the schema grows, nesting its lists further does not
   */
  introspectionBudget: 2,
  /** aliased fields: each alias runs its field again */
  maxAliases: 100,
  /** field selections in the document (fragments counted once): graphql-js's overlap check is quadratic in them */
  maxFieldNodes: 1_500,
  /** nesting of a JSON value in the variables (objects and arrays) */
  maxJsonDepth: 64,
  /** a connection field without `first`/`last` returns this many nodes; a `$variable` counts as the largest page */
  defaultPage: 20,
  maxPage: 100,
} as const;

interface Cost {
  depth: number;
  cost: number;
  introspection: number;
}

interface SchemaCosts {
  /** average sizes of the introspection lists: what `__schema { types { fields … } }` really returns */
  sizes: Record<string, number>;
  maxIntrospection: number;
}
const schemaCosts = new WeakMap<GraphQLSchema, SchemaCosts>();
function schemaCostsOf(schema: GraphQLSchema): SchemaCosts {
  let costs = schemaCosts.get(schema);
  if (costs) return costs;
  const types = Object.values(schema.getTypeMap());
  const avg = (values: number[]) => Math.max(1, Math.ceil(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)));
  const composite = types.filter((t) => isObjectType(t) || isInterfaceType(t)) as Array<{
    getFields(): Record<string, GraphQLField<unknown, unknown>>;
  }>;
  const fields = composite.flatMap((t) => Object.values(t.getFields()));
  const sizes = {
    types: types.length,
    directives: schema.getDirectives().length,
    fields: avg(composite.map((t) => Object.keys(t.getFields()).length)),
    args: avg([...fields.map((f) => f.args.length), ...schema.getDirectives().map((d) => d.args.length)]),
    inputFields: avg(types.filter(isInputObjectType).map((t) => Object.keys(t.getFields()).length)),
    enumValues: avg(types.filter(isEnumType).map((t) => t.getValues().length)),
    interfaces: avg(types.filter(isObjectType).map((t) => t.getInterfaces().length)),
    possibleTypes: avg(types.filter(isInterfaceType).map((t) => schema.getPossibleTypes(t).length)),
  };
  costs = { sizes, maxIntrospection: Infinity };
  schemaCosts.set(schema, costs);
  const standard = parse(
    getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    }),
  );
  costs.maxIntrospection = QUERY_LIMITS.introspectionBudget * Math.max(...operationCosts(schema, standard).map((c) => c.introspection));
  return costs;
}

const isList = (type: GraphQLOutputType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

/** How many nodes a field returns, for the cost estimate. */
function pageOf(
  field: FieldNode,
  def: GraphQLField<unknown, unknown> | undefined,
  introspection: boolean,
  sizes: Record<string, number>,
): number {
  if (!def) return 1;
  if (introspection) return isList(def.type) ? (sizes[field.name.value] ?? 1) : 1;
  if (!getNamedType(def.type).name.endsWith('Connection')) return 1;
  const arg = field.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
  if (!arg) return QUERY_LIMITS.defaultPage;
  // variables are unknown here (and the check is cached per text): assume the largest page
  if (arg.value.kind === Kind.INT) return Math.max(1, Math.min(Number(arg.value.value), 1_000));
  return QUERY_LIMITS.maxPage;
}

/**
 * Depth, complexity and introspection complexity of every operation, in one pass over the document:
 * a fragment is measured once (memoized, relative to where it is spread) however often it is
 * spread, so documents whose fragments spread each other many times cost time linear in their size.
 */
function operationCosts(schema: GraphQLSchema, document: DocumentNode): Array<Cost & { node: OperationDefinitionNode }> {
  const { sizes } = schemaCostsOf(schema);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const memo = new Map<string, Cost>();
  const inProgress = new Set<string>();

  const typeNamed = (name: string | undefined, fallback: GraphQLCompositeType | undefined) => {
    const t = name ? schema.getType(name) : fallback;
    return isCompositeType(t) ? t : undefined;
  };

  const measure = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, inIntrospection: boolean): Cost => {
    const total: Cost = { depth: 0, cost: 0, introspection: 0 };
    const add = (c: Cost, m: number) => {
      total.depth = Math.max(total.depth, c.depth);
      total.cost += c.cost * m;
      total.introspection += c.introspection * m;
    };
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name === '__typename') continue;
        const introspection = inIntrospection || name === '__schema' || name === '__type';
        const fieldDef = (introspection && !inIntrospection) || !parent || isUnionType(parent) ? undefined : parent.getFields()[name];
        const m = pageOf(sel, fieldDef, introspection, sizes);
        const own: Cost = introspection ? { depth: 0, cost: 0, introspection: 1 } : { depth: 1, cost: 1, introspection: 0 };
        if (sel.selectionSet) {
          const childType =
            name === '__schema'
              ? typeNamed('__Schema', undefined)
              : name === '__type'
                ? typeNamed('__Type', undefined)
                : fieldDef
                  ? typeNamed(getNamedType(fieldDef.type).name, undefined)
                  : undefined;
          const inner = measure(sel.selectionSet, childType, introspection);
          own.depth += inner.depth;
          own.cost += inner.cost;
          own.introspection += inner.introspection;
        }
        add(own, m);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        add(measure(sel.selectionSet, typeNamed(sel.typeCondition?.name.value, parent), inIntrospection), 1);
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        // unknown and cyclic fragments are reported by graphql-js's rules (which run only if these limits pass)
        if (!frag || inProgress.has(name)) continue;
        const key = `${name}|${inIntrospection}`;
        let cost = memo.get(key);
        if (!cost) {
          inProgress.add(name);
          cost = measure(frag.selectionSet, typeNamed(frag.typeCondition.name.value, undefined), inIntrospection);
          inProgress.delete(name);
          memo.set(key, cost);
        }
        add(cost, 1);
      }
    }
    return total;
  };

  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((def) => {
      const root =
        def.operation === 'query'
          ? schema.getQueryType()
          : def.operation === 'mutation'
            ? schema.getMutationType()
            : schema.getSubscriptionType();
      return { ...measure(def.selectionSet, root ?? undefined, false), node: def };
    });
}

/** The limits' errors for a parsed document (none: it may go on to graphql-js's validation). */
export function measureDocument(schema: GraphQLSchema, document: DocumentNode): GraphQLError[] {
  const errors: GraphQLError[] = [];
  let aliases = 0;
  let fieldNodes = 0;
  // a flat walk over the AST (iterative: a document is at most maxTokens deep anyway)
  const stack: unknown[] = [...document.definitions];
  while (stack.length) {
    const node = stack.pop() as { kind?: string; alias?: unknown; selectionSet?: SelectionSetNode };
    if (node.kind === Kind.FIELD) {
      fieldNodes++;
      if (node.alias) aliases++;
    }
    if (node.selectionSet) stack.push(...node.selectionSet.selections);
  }
  if (aliases > QUERY_LIMITS.maxAliases)
    errors.push(new GraphQLError(`${aliases} aliased fields exceed the limit of ${QUERY_LIMITS.maxAliases}`));
  if (fieldNodes > QUERY_LIMITS.maxFieldNodes)
    errors.push(new GraphQLError(`${fieldNodes} field selections exceed the limit of ${QUERY_LIMITS.maxFieldNodes}`));
  if (errors.length) return errors;

  const { maxIntrospection } = schemaCostsOf(schema);
  for (const { depth, cost, introspection, node: def } of operationCosts(schema, document)) {
    if (depth > QUERY_LIMITS.maxDepth) {
      errors.push(new GraphQLError(`query depth ${depth} exceeds the limit of ${QUERY_LIMITS.maxDepth}`, { nodes: [def] }));
    } else if (cost > QUERY_LIMITS.maxComplexity) {
      errors.push(new GraphQLError(`query complexity ${cost} exceeds the limit of ${QUERY_LIMITS.maxComplexity}`, { nodes: [def] }));
    } else if (introspection > maxIntrospection) {
      errors.push(
        new GraphQLError(
          `introspection complexity ${introspection} exceeds the limit of ${maxIntrospection} (twice the standard introspection query)`,
          { nodes: [def] },
        ),
      );
    }
  }
  return errors;
}

export type CheckedDocument = { document: DocumentNode } | { errors: readonly GraphQLError[] };

/**
 * Parse (token-limited), limits, then graphql-js's standard validation: the order that keeps a
 * hostile document cheap. Errors carry graphql-js's codes, which the error switch maps to BAD_USER_INPUT.
 */
export function checkDocument(schema: GraphQLSchema, query: string, rules: readonly ValidationRule[] = specifiedRules): CheckedDocument {
  if (query.length > QUERY_LIMITS.maxDocumentLength) {
    return {
      errors: [
        new GraphQLError(
          `the document has ${query.length} characters, over the limit of ${QUERY_LIMITS.maxDocumentLength} (pass large values as variables)`,
          { extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
        ),
      ],
    };
  }
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: QUERY_LIMITS.maxTokens });
  } catch (err) {
    return { errors: [new GraphQLError((err as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
  }
  const limited = measureDocument(schema, document);
  if (limited.length)
    return {
      errors: limited.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })),
    };
  const errors = validate(schema, document, rules);
  return errors.length ? { errors } : { document };
}

/**
 * JSON values in variables nested deeper than maxJsonDepth are refused before anything reads them
 * (recursive code further on, Postgres's jsonb included, has stack limits). Iterative walk.
 */
export function checkVariables(variables: unknown): void {
  if (variables === null || typeof variables !== 'object') return;
  const stack: Array<{ value: unknown; path: string[] }> = [{ value: variables, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length > QUERY_LIMITS.maxJsonDepth) {
      throw new AppError('BAD_USER_INPUT', `nested deeper than ${QUERY_LIMITS.maxJsonDepth} levels`, path.join('.'));
    }
    for (const [k, v] of Object.entries(value)) if (v !== null && typeof v === 'object') stack.push({ value: v, path: [...path, k] });
  }
}
