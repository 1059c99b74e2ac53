import postgres from 'postgres';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** A piece of a statement (sql`…`) put into another. */
export type Fragment = postgres.Fragment;
/** A client or a transaction: query helpers accept either. */
export type Db = Sql | Tx;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
  onQuery?: (query: string) => void;
  /**
   * Each prepared statement is planned once per connection, for any values (plan_cache_mode
   * force_generic_plan), rather than again for each call's values: only for statements whose best
   * plan does not depend on their values (no LIMIT or range taken from a parameter: a generic plan
   * guesses a tenth of the table for those).
   */
  planOnce?: boolean;
}

export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    ...(options.onQuery ? { debug: (_conn: number, query: string) => options.onQuery!(query) } : {}),
    connection: {
      application_name: options.applicationName ?? 'emberplane',
      ...(options.planOnce ? { plan_cache_mode: 'force_generic_plan' } : {}),
    },
    // int8 columns (sequence numbers, counters) stay far below 2^53: plain numbers are simpler
    types: { bigint: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) } },
    transform: { undefined: null, column: { from: postgres.toCamel } },
  });
}

/**
 * A failure of the transaction, connection or server (SQLSTATE classes 40, 08, 53, 57P, and the
 * client's connection errors), not of what was being written: the same write can succeed later.
 */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (/^(40|08|53|57P)/.test(code) || code.startsWith('CONNECTION_') || code === 'ECONNRESET' || code === 'ECONNREFUSED')
  );
}
