// Column helpers shared by every module's tables.
import { timestamp } from 'drizzle-orm/pg-core';

/**
 * A timestamptz, read as a Date. Stored to the millisecond, as a Date holds it: list cursors carry
 * (created_at, id) through a Date, and a value with microseconds would come back a little smaller,
 * so the next page would skip the rows created in the rest of that millisecond.
 */
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

/**
 * A timestamptz to the microsecond, for an order that SQL alone pages through (its markers are ids,
 * never a Date), where rows made in the same millisecond must keep the order they were made in.
 */
export const tsMicros = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
