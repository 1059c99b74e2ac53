// SQL steps' `catalog.<db>.<table>`: resolved to the table's Parquet files before DuckDB sees the
// query; left alone inside literals, comments and longer names.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors.js';
import { prepareQuery } from '../../src/sql/preview-query.js';
import type { CatalogLookup } from '../../src/clusters/spark/metastore.js';

const BUCKETS = '/data/buckets';
const TABLES: Record<string, { location: string | null; parquet: boolean }> = {
  'sales.totals': { location: 's3://emberplane-warehouse/sales.db/totals', parquet: true },
  'sales.text_table': { location: 's3://emberplane-warehouse/sales.db/text_table', parquet: false },
};
const lookup: CatalogLookup = async (db, table) => TABLES[`${db}.${table}`] ?? null;
const FILES = `read_parquet('${BUCKETS}/emberplane-warehouse/sales.db/totals/**/*.parquet', hive_partitioning = true, union_by_name = true)`;

async function refused(query: string): Promise<AppError> {
  const err = await prepareQuery(query, 'q', BUCKETS, lookup).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('catalog tables in SQL', () => {
  it('become reads of their Parquet files, their bucket an input', async () => {
    const mapped = await prepareQuery(
      'SELECT t.word FROM Catalog.Sales.Totals AS t JOIN catalog.sales.totals u USING (word)',
      'q',
      BUCKETS,
      lookup,
    );
    expect(mapped.sql).toBe(`SELECT t.word FROM ${FILES} AS t JOIN ${FILES} u USING (word)`);
    expect(mapped.inputs).toEqual([{ bucket: 'emberplane-warehouse', key: 'sales.db/totals/' }]);
  });

  it('are left alone in literals, quoted names, comments and longer dotted names', async () => {
    const query = `SELECT 'catalog.sales.totals' AS a, "catalog.sales.totals", my_catalog.sales.totals FROM t -- catalog.sales.totals`;
    const mapped = await prepareQuery(query, 'q', BUCKETS, async () => {
      throw new Error('not a catalog reference');
    });
    expect(mapped.sql).toBe(`SELECT 'catalog.sales.totals' AS a, "catalog.sales.totals", my_catalog.sales.totals FROM t`);
    expect(mapped.inputs).toEqual([]);
  });

  it('must exist and be Parquet', async () => {
    expect(await refused('SELECT * FROM catalog.sales.nope')).toMatchObject({ code: 'NOT_FOUND', field: 'q' });
    const err = await refused('SELECT * FROM catalog.sales.text_table');
    expect(err).toMatchObject({ code: 'BAD_USER_INPUT', field: 'q' });
    expect(err.message).toContain('catalog.sales.text_table is not a Parquet table');
    // without a catalog (a server without Spark) every table is missing
    expect(
      await prepareQuery('SELECT * FROM catalog.sales.totals', 'q', BUCKETS).then(
        () => null,
        (e: AppError) => e.code,
      ),
    ).toBe('NOT_FOUND');
  });
});
