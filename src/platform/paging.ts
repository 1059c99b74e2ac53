import { badInput } from './errors.js';
import { Limits, requireIntInRange } from './validate.js';

/** One page of a Relay connection, before mapping: the resolvers turn it into edges and pageInfo. */
export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  cursorOf: (node: T) => string;
  /** known when paging backwards (`last`); otherwise whether a cursor was given */
  hasPreviousPage?: boolean;
}

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

/** Cursors of lists ordered newest first by (time, id): opaque to clients (base64url). */
export function encodeTimeIdCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function parseTimeIdCursor(cursor: string | null | undefined, field = 'after'): { at: Date; id: string } | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const date = new Date(at ?? '');
  if (!id || Number.isNaN(date.getTime())) throw badInput(field, 'is not a cursor returned by this API');
  return { at: date, id };
}
