import { getArgumentValues, Kind, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { pageSize, parseSeqCursor } from '../../platform/paging.js';
import type { NestedShape } from '../queries/nested.js';

/** The page of steps `steps(first, after)` reads: one more than asked, to know whether a next page exists. */
export function stepPageRead(first: number | null | undefined, after: string | null | undefined): NonNullable<NestedShape['steps']> {
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

const named = (fields: FieldNode[], name: string) => fields.filter((f) => f.name.value === name);

/**
 * The nested lists of the clusters a root field answers, from the request's selection: what the
 * statement reading those clusters reads with them. `path`: the fields from the root field down to
 * the clusters (['edges', 'node'] for a connection). Over-reading is harmless (a list under
 * @skip is read and not shown); a list it leaves out is read by its field resolver as before, so
 * a `steps` page whose arguments are invalid is left to its resolver to report.
 */
export function nestedSelection(info: GraphQLResolveInfo, path: string[] = []): NestedShape | null {
  let fields = fieldsOf(
    info,
    info.fieldNodes.map((f) => f.selectionSet),
  );
  for (const name of path)
    fields = fieldsOf(
      info,
      named(fields, name).map((f) => f.selectionSet),
    );
  const [stepsField] = named(fields, 'steps');
  const shape: NestedShape = {
    groups: named(fields, 'instanceGroups').length > 0,
    instances: named(fields, 'instances').length > 0,
    steps: stepsField ? stepPageOf(info, stepsField) : null,
  };
  return shape.groups || shape.instances || shape.steps ? shape : null;
}

function stepPageOf(info: GraphQLResolveInfo, field: FieldNode): NestedShape['steps'] {
  const definition = (info.schema.getType('Cluster') as GraphQLObjectType).getFields().steps!;
  try {
    const { first, after } = getArgumentValues(definition, field, info.variableValues) as { first?: number | null; after?: string | null };
    return stepPageRead(first, after);
  } catch {
    return null;
  }
}
