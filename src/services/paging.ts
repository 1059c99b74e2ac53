import { badInput } from './errors.js';
import { Limits, requireIntInRange } from './validate.js';

/** One page of a Relay connection, before mapping: the resolvers turn it into edges and pageInfo. */
export interface Page<T> { nodes: T[]; hasNextPage: boolean; cursorOf: (node: T) => string }

/** Relay `first`: default 20, at most 100 (as GitHub's API). */
export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return 20;
  return requireIntInRange(first, field, 0, Limits.pageSize);
}

/** Cursors of dense sequences (log lines, events, step positions) are the number itself. */
export function parseSeqCursor(cursor: string | null | undefined, field = 'after'): number {
  if (cursor === null || cursor === undefined || cursor === '') return 0;
  if (!/^\d{1,15}$/.test(cursor)) throw badInput(field, 'is not a cursor returned by this API');
  return Number(cursor);
}
