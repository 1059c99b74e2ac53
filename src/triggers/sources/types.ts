// What each trigger source provides to the TriggerService: input checking, and (optionally) keeping
// its own state in step with the trigger row. One file per source; the list is in index.ts.
import type { Sql, Tx } from '../../platform/db/client.js';
import type { TriggerRow, TriggerSourceType } from '../tables.js';

export type { TriggerSourceType };

export interface TriggerSourceKind<C = unknown> {
  type: TriggerSourceType;
  /** the input field: 'http' | 'schedule' | 'bucket' | 'topic' | 'queue' | 'clusterEvents' */
  field: string;
  /**
   * The API action that reads this source's events (a queue's receive, …): creating or changing a
   * trigger on it needs it, and a delivery's payload is shown only to keys that hold it, so a
   * trigger can't hand another team's data to a function its creator controls. None: the events
   * are the trigger's own (a schedule's ticks, an HTTP request made to the trigger).
   */
  readAction?: string;
  /** checks the GraphQL input (errors via badInput(`${field}.x`, …)) and returns the config to store */
  parse(input: unknown, field: string, ctx: { sql: Sql }): Promise<C> | C;
  /** inside the create/update/enable/delete transaction: keep the source's own state */
  saved?(tx: Tx, trigger: TriggerRow): Promise<void>;
  deleted?(tx: Tx, trigger: TriggerRow): Promise<void>;
}
