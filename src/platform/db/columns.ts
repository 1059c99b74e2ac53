// Column helpers shared by every module's tables.
import { timestamp } from 'drizzle-orm/pg-core';

/** A timestamptz, read as a Date. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
