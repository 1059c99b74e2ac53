import path from 'node:path';
import { checkSelect, SqlQueryError } from '../engine/sql/duckdb.js';
import { localPathsToUris } from '../engine/sql/lockdown.js';
import { AppError, badInput, notFound } from '../platform/errors.js';
import { objectFilePath, parseS3Uri, type S3Location } from '../storage/s3-uri.js';
import type { StorageService } from '../storage/service.js';
import type { CatalogLookup } from '../clusters/spark/metastore.js';

// A user's SQL (SQL steps and sqlPreview), made ready for DuckDB: every s3:// URI written as a
// string literal ('s3://bucket/key', globs like 's3://b/data/*.csv', prefixes 's3://b/data/') or a
// quoted identifier ("s3://b/t.parquet") becomes the local path of that object or prefix (the
// documented s3:// → local path mapping). The SQL is scanned token by token, so a URI inside a
// comment is left alone and one inside a literal DuckDB would read differently (E'…', $$…$$) is
// refused rather than guessed at. Comments and trailing semicolons are dropped, so the query can be
// embedded in COPY (…) TO. Then DuckDB's own parser must find exactly one SELECT. Without the path
// mapping (`bucketsDir` null: SQL steps with OBJECT_PATH_MAPPING=off, which read through DuckDB's
// httpfs) the URIs are checked and collected the same way but stay s3:// URIs.

export const MAX_QUERY_LENGTH = 65_536;

/**
 * A catalog table by database and name: its s3:// location and whether its files are Parquet
 * (MetastoreService.table), or null when there is no such table.
 */

// `catalog.<database>.<table>` outside literals and comments: a table of the install's Hive metastore
const CATALOG_REF = /^catalog\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_$.])/i;
// stands for a catalog table until its location is known (a NUL never reaches here from a query)
const catalogMark = (n: number) => `\0catalog${n}\0`;

export interface MappedQuery {
  /** the query DuckDB runs */
  sql: string;
  /** the s3:// locations it reads, in order of appearance (duplicates removed) */
  inputs: S3Location[];
}

const IDENT_CHAR = /[A-Za-z0-9_$]/;
const S3 = 's3://';

/** `'…'` with `''` escapes (or `"…"` with `""`): the end index (after the closing quote), or -1. */
function quotedEnd(sql: string, start: number, quote: string): number {
  for (let j = start + 1; j < sql.length; j++) {
    if (sql[j] !== quote) continue;
    if (sql[j + 1] === quote) {
      j++;
      continue;
    }
    return j + 1;
  }
  return -1;
}

/** The prefix of a special string literal before position `i` (E'…', U&'…', X'…', B'…'), or null. */
function literalPrefix(sql: string, i: number): string | null {
  const m = /(?:^|[^A-Za-z0-9_$])(U&|[EeXxBb])$/.exec(sql.slice(Math.max(0, i - 3), i));
  return m ? m[1]! : null;
}

/** Where objects are read: the buckets directory (the path mapping), or null for s3:// URIs as they are. */
export type ObjectRoot = string | null;

function mapS3Uris(
  query: string,
  field: string,
  bucketsDir: ObjectRoot,
): MappedQuery & { tables: Array<{ database: string; table: string }> } {
  if (typeof query !== 'string' || !query.trim()) throw badInput(field, 'must not be empty');
  if (query.length > MAX_QUERY_LENGTH) throw badInput(field, `must be at most ${MAX_QUERY_LENGTH} characters`);
  if (query.includes('\0')) throw badInput(field, 'must not contain NUL');
  const inputs = new Map<string, S3Location>();
  const tables: Array<{ database: string; table: string }> = [];
  const refuse = () => badInput(field, `s3:// URIs must be written as plain '…' string literals (not E'…', U&'…' or $$…$$ strings)`);

  const mapUri = (uri: string): string => {
    let location: S3Location;
    try {
      location = parseS3Uri(uri, field, { allowPrefix: true });
    } catch (err) {
      if (err instanceof AppError) throw badInput(field, `${JSON.stringify(uri.slice(0, 200))}: ${err.message}`);
      throw err;
    }
    inputs.set(`${location.bucket}/${location.key}`, location);
    const { bucket, key } = location;
    if (bucketsDir === null) {
      // DuckDB reads a local directory whole (leaving out _SUCCESS and hidden files), but over S3 a
      // prefix is a GET of that key: say how to read it instead of failing when the step runs
      if (key === '' || key.endsWith('/')) {
        throw badInput(
          field,
          `${JSON.stringify(uri.slice(0, 200))} is a prefix: without the object path mapping, read it with a glob such as '${uri}*.parquet' or '${uri}**/*.csv'`,
        );
      }
      return uri;
    }
    // a prefix is a directory, which DuckDB reads whole (every file below it)
    return key === '' || key.endsWith('/') ? `${path.join(bucketsDir, bucket, key)}/` : objectFilePath(bucketsDir, bucket, key);
  };

  let out = '';
  let i = 0;
  while (i < query.length) {
    const ch = query[i]!;
    const next = query[i + 1];
    if (ch === '-' && next === '-') {
      const end = query.indexOf('\n', i);
      i = end < 0 ? query.length : end;
      out += ' ';
    } else if (ch === '/' && next === '*') {
      // block comments nest, as in Postgres
      let depth = 0;
      let j = i;
      for (; j < query.length; j++) {
        if (query[j] === '/' && query[j + 1] === '*') {
          depth++;
          j++;
        } else if (query[j] === '*' && query[j + 1] === '/') {
          depth--;
          j++;
          if (depth === 0) break;
        }
      }
      if (depth !== 0) throw badInput(field, 'has an unterminated /* comment');
      i = j + 1;
      out += ' ';
    } else if (ch === "'" || ch === '"') {
      const end = quotedEnd(query, i, ch);
      if (end < 0) throw badInput(field, `has an unterminated ${ch === "'" ? 'string literal' : 'quoted identifier'}`);
      const raw = query.slice(i, end);
      const content = raw.slice(1, -1).replaceAll(ch + ch, ch);
      if (content.includes(S3) && ch === "'" && literalPrefix(query, i) !== null) throw refuse();
      out += content.startsWith(S3) ? ch + mapUri(content).replaceAll(ch, ch + ch) + ch : raw;
      i = end;
    } else if (ch === '$' && !(i > 0 && IDENT_CHAR.test(query[i - 1]!))) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(query.slice(i, i + 64))?.[0];
      if (!tag) {
        out += ch;
        i++;
        continue;
      }
      const end = query.indexOf(tag, i + tag.length);
      if (end < 0) throw badInput(field, `has an unterminated ${tag} string`);
      const raw = query.slice(i, end + tag.length);
      if (raw.includes(S3)) throw refuse();
      out += raw;
      i = end + tag.length;
    } else {
      const ref = !(i > 0 && /[A-Za-z0-9_$.]/.test(query[i - 1]!)) ? CATALOG_REF.exec(query.slice(i, i + 300)) : null;
      if (ref) {
        // Hive keeps names in lower case
        tables.push({ database: ref[1]!.toLowerCase(), table: ref[2]!.toLowerCase() });
        out += catalogMark(tables.length - 1);
        i += ref[0].length;
        continue;
      }
      out += ch;
      i++;
    }
  }
  return { sql: out.replace(/[\s;]+$/, '').trim(), inputs: [...inputs.values()], tables };
}

/** Each catalog table of the query becomes a read of its Parquet files (under the warehouse bucket). */
async function mapCatalogTables(
  mapped: ReturnType<typeof mapS3Uris>,
  field: string,
  bucketsDir: ObjectRoot,
  lookup: CatalogLookup | undefined,
): Promise<MappedQuery> {
  let sql = mapped.sql;
  const inputs = new Map(mapped.inputs.map((l) => [`${l.bucket}/${l.key}`, l]));
  for (const [n, { database, table }] of mapped.tables.entries()) {
    const name = `catalog.${database}.${table}`;
    const found = lookup ? await lookup(database, table) : null;
    if (!found) throw notFound('catalog table', `${database}.${table}`, field);
    if (!found.parquet || !found.location?.startsWith(S3)) {
      throw badInput(
        field,
        `${name} is not a Parquet table in a bucket (SQL steps read Parquet tables: CREATE TABLE … USING parquet, Spark's default here)`,
      );
    }
    const location = parseS3Uri(found.location.replace(/\/?$/, '/'), field, { allowPrefix: true });
    inputs.set(`${location.bucket}/${location.key}`, location);
    const root = bucketsDir === null ? `s3://${location.bucket}/${location.key}` : path.join(bucketsDir, location.bucket, location.key);
    const files = `${root.replace(/\/$/, '')}/**/*.parquet`;
    // partition directories (col=value/) become columns, as in Spark
    sql = sql.replace(catalogMark(n), `read_parquet('${files.replaceAll("'", "''")}', hive_partitioning = true, union_by_name = true)`);
  }
  return { sql, inputs: [...inputs.values()] };
}

/**
 * mapS3Uris and the catalog's tables (`catalog.<db>.<table>`, through `lookup`), then DuckDB's
 * parser: exactly one SELECT, or BAD_USER_INPUT with DuckDB's message.
 */
export async function prepareQuery(query: string, field: string, bucketsDir: ObjectRoot, lookup?: CatalogLookup): Promise<MappedQuery> {
  const mapped = await mapCatalogTables(mapS3Uris(query, field, bucketsDir), field, bucketsDir, lookup);
  try {
    await checkSelect(mapped.sql);
  } catch (err) {
    if (err instanceof SqlQueryError)
      throw badInput(field, bucketsDir === null ? err.message : localPathsToUris(err.message, path.resolve(bucketsDir)));
    throw err;
  }
  return mapped;
}

/**
 * The buckets a query reads or writes must exist; the objects need not yet (a glob may match
 * nothing, an earlier step may write them).
 */
export async function requireBuckets(storage: StorageService, locations: readonly S3Location[], field: string): Promise<void> {
  for (const bucket of new Set(locations.map((l) => l.bucket))) {
    // NOT_FOUND, as for the s3:// URIs of SCRIPT and SPARK steps
    if (!(await storage.bucket(bucket, field))) throw notFound('bucket', bucket, field);
  }
}
