import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { INSTANCE_OPTIONS, lockDown } from './lockdown.js';
import { STEP_ARG_ENGINE } from '../types.js';

// DuckDB in the control plane's own process: the parser that checks queries (SQL steps and
// previews) and the engine behind sqlPreview, confined like the step runner to the buckets a query
// names (never <bucketsDir>/.sql-tmp, where SQL steps' unfinished outputs are).

type DuckDbApi = typeof import('@duckdb/node-api');

/** @duckdb/node-api, or why it could not be loaded (e.g. no native binding for this platform). */
export const duckdb: { api: DuckDbApi; error: null } | { api: null; error: string } = await import('@duckdb/node-api').then(
  (api) => ({ api, error: null }),
  (err: unknown) => ({ api: null, error: err instanceof Error ? err.message : String(err) }),
);

export interface SqlColumn {
  name: string;
  type: string;
}
export interface SqlPreviewResult {
  columns: SqlColumn[];
  /** row values as JSON (DuckDB's conversion: BIGINT, HUGEINT and DECIMAL as strings, exact) */
  rows: unknown[][];
  /** the query has more rows than were returned */
  truncated: boolean;
}

/** A query DuckDB refused or that ran too long; `message` is DuckDB's own where it has one. */
export class SqlQueryError extends Error {
  constructor(
    readonly reason: 'INVALID' | 'TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'SqlQueryError';
  }
}

export interface SqlEngineOptions {
  memoryLimitMb: number;
  threads: number;
}

/** What sqlPreview asks of DuckDB. */
export interface SqlEngine {
  /** Up to `limit` rows of `query` (checked first), which may read only `directories`; interrupted after `timeoutMs`. */
  preview(query: string, directories: readonly string[], limit: number, timeoutMs: number): Promise<SqlPreviewResult>;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

let parser: Promise<DuckDBConnection> | null = null;

/** One process-wide connection for parsing: it reads no file (no allowed directory at all). */
function parserConnection(api: DuckDbApi): Promise<DuckDBConnection> {
  parser ??= (async () => {
    const instance = await api.DuckDBInstance.create(':memory:', { ...INSTANCE_OPTIONS, threads: '1', temp_directory: '' });
    const connection = await instance.connect();
    await lockDown(connection, []);
    return connection;
  })();
  return parser;
}

/**
 * Throws SqlQueryError unless `query` is exactly one SELECT (or WITH … SELECT, FROM …, VALUES).
 * DuckDB's own parser, without binding: nothing is read, and a file an earlier step will write need
 * not exist yet. json_serialize_sql serializes SELECT statements only.
 */
export async function checkSelect(query: string): Promise<void> {
  if (!duckdb.api) throw new SqlQueryError('INVALID', `DuckDB is not available: ${duckdb.error}`);
  const connection = await parserConnection(duckdb.api);
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [query]);
  const parsed = JSON.parse(String(reader.getRows()[0]![0])) as { error: boolean; error_message?: string; statements?: unknown[] };
  if (parsed.error) {
    const message = parsed.error_message ?? 'the query could not be parsed';
    throw new SqlQueryError(
      'INVALID',
      message.startsWith('Only SELECT statements')
        ? 'only a SELECT query (SELECT, WITH … SELECT, FROM …, VALUES) is allowed: COPY, ATTACH, INSTALL, LOAD, CREATE, INSERT, UPDATE, DELETE, PRAGMA, SET, CALL and the like are refused'
        : message,
    );
  }
  const count = parsed.statements?.length ?? 0;
  if (count !== 1) throw new SqlQueryError('INVALID', `must be exactly one SELECT statement, got ${count}`);
}

class DuckDbEngine implements SqlEngine {
  constructor(
    private readonly api: DuckDbApi,
    private readonly options: SqlEngineOptions,
  ) {}

  /**
   * A database per preview: allowed_directories is locked for the life of a database, and each
   * query may read only the buckets it names. An in-memory instance takes about a millisecond.
   */
  private async open(directories: readonly string[]): Promise<DuckDBInstance> {
    const instance = await this.api.DuckDBInstance.create(':memory:', {
      ...INSTANCE_OPTIONS,
      memory_limit: `${this.options.memoryLimitMb}MB`,
      threads: String(this.options.threads),
      // previews don't spill to disk: a query too big for memory belongs in a SQL step
      temp_directory: '',
    });
    // the settings are the database's: locking them through one connection locks them for all
    const first = await instance.connect();
    try {
      await lockDown(first, directories);
    } catch (err) {
      first.closeSync();
      instance.closeSync();
      throw err;
    }
    first.closeSync();
    return instance;
  }

  async preview(query: string, directories: readonly string[], limit: number, timeoutMs: number): Promise<SqlPreviewResult> {
    await checkSelect(query);
    const instance = await this.open(directories);
    const connection = await instance.connect();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, timeoutMs);
    try {
      // streaming: only the chunks up to limit + 1 rows are computed and held
      const reader = await connection.streamAndReadUntil(query, limit + 1);
      return {
        columns: reader.columnNames().map((name, i) => ({ name, type: reader.columnType(i).toString() })),
        rows: reader.getRowsJson().slice(0, limit) as unknown[][],
        truncated: reader.currentRowCount > limit,
      };
    } catch (err) {
      if (timedOut) throw new SqlQueryError('TIMEOUT', `the query did not finish within ${timeoutMs} ms and was interrupted`);
      throw new SqlQueryError('INVALID', messageOf(err));
    } finally {
      clearTimeout(timer);
      connection.closeSync();
      instance.closeSync();
    }
  }
}

/** The DuckDB engine, or null (with duckdb.error saying why) when @duckdb/node-api can't load. */
export function createSqlEngine(options: SqlEngineOptions): SqlEngine | null {
  return duckdb.api ? new DuckDbEngine(duckdb.api, options) : null;
}

/** Where the SQL step runner lives: next to this module in src/ and, compiled, in dist/. */
export const SQL_STEP_RUNNER = new URL('./sql-step.js', import.meta.url);
/** The runner as a step names it: below the engine directory of whichever host's agent runs it. */
export const SQL_STEP_RUNNER_ARG = `${STEP_ARG_ENGINE}/sql/sql-step.js`;
