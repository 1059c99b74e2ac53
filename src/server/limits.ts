import {
  GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext,
} from 'graphql';

export const MAX_DEPTH = 12;
export const MAX_COMPLEXITY = 50_000;

/**
 * Rejects operations that are too deep or would touch too many objects. Complexity counts each
 * field once, multiplied by the `first` of every list around it (default page 20; 100 when given as
 * a variable), so a page of
 * 100 clusters × 100 steps × 100 log lines is refused before anything runs.
 */
export function queryLimitsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const measure = (set: SelectionSetNode, depth: number, multiplier: number, seen: Set<string>): { depth: number; cost: number } => {
    let maxDepth = depth;
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        let first = 1;
        const arg = sel.arguments?.find((a) => a.name.value === 'first');
        if (arg?.value.kind === Kind.INT) first = Number(arg.value.value);
        // variables are not known at validation time (and validation is cached): assume the max page
        else if (arg?.value.kind === Kind.VARIABLE) first = 100;
        else if (sel.selectionSet && ['clusters', 'steps', 'logs', 'edges'].includes(sel.name.value) && !arg) first = sel.name.value === 'edges' ? 1 : 20;
        const m = multiplier * Math.max(1, Math.min(first, 1_000));
        cost += m;
        if (sel.selectionSet) {
          const inner = measure(sel.selectionSet, depth + 1, m, seen);
          maxDepth = Math.max(maxDepth, inner.depth);
          cost += inner.cost;
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const inner = measure(sel.selectionSet, depth, multiplier, seen);
        maxDepth = Math.max(maxDepth, inner.depth);
        cost += inner.cost;
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag || seen.has(name)) continue; // unknown or cyclic fragments are reported by graphql-js rules
        const inner = measure(frag.selectionSet, depth, multiplier, new Set([...seen, name]));
        maxDepth = Math.max(maxDepth, inner.depth);
        cost += inner.cost;
      }
    }
    return { depth: maxDepth, cost };
  };

  return {
    OperationDefinition(node) {
      const { depth, cost } = measure(node.selectionSet, 1, 1, new Set());
      if (depth > MAX_DEPTH) {
        context.reportError(new GraphQLError(`query depth ${depth} exceeds the limit of ${MAX_DEPTH}`, { nodes: [node] }));
      } else if (cost > MAX_COMPLEXITY) {
        context.reportError(new GraphQLError(`query complexity ${cost} exceeds the limit of ${MAX_COMPLEXITY}`, { nodes: [node] }));
      }
    },
  };
}
