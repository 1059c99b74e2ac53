// The catalog that persists (docs/spark.md "Catalog"): a Hive metastore shared by every
// step and cluster of the install, kept in the product's Postgres in a schema of its own, owned by
// a role of its own. Drivers are tenant code: they get that role's password (in the hive-site.xml
// of their node's sandbox), never the product's credentials; the role has rights on its schema
// only (product tables grant nothing to PUBLIC). Spark's built-in Hive 2.3.9 client creates the
// metastore tables itself on first use (datanucleus.schema.autoCreateAll). The warehouse and every
// app's event logs live in buckets of their own, made here if missing.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Sql } from '../../platform/db/client.js';
import type { NodeConfig } from '../../engine/types.js';
import type { StorageService } from '../../storage/service.js';

export const METASTORE_SCHEMA = 'hive_metastore';
/** where event logs go in their bucket over s3a (a directory marker made for the first node) */
const EVENT_LOG_PREFIX = 'logs/';
/** the metastore's tables as Hive 2.3's DataNucleus mapping names them (quoted: upper case in Postgres) */
const HIVE_TABLES = ['DBS', 'TBLS', 'SDS', 'COLUMNS_V2'];

export type NodeCatalog = NonNullable<NonNullable<NodeConfig['spark']>['catalog']>;

export interface CatalogColumn {
  name: string;
  type: string;
}
export interface CatalogTable {
  database: string;
  name: string;
  type: string;
  location: string | null;
  columns: CatalogColumn[];
  /** the Hadoop input format of its files (Parquet: …parquet.MapredParquetInputFormat) */
  inputFormat: string | null;
}

/** The newest PostgreSQL JDBC jar in `dir` (npm run spark:install puts it there), or null. */
export function findJdbcJar(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const jars = readdirSync(dir)
    .filter((f) => /^postgresql-\d+\.\d+\.\d+\.jar$/.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return jars.length ? path.join(dir, jars.at(-1)!) : null;
}

/** Postgres role names: the database's own (roles are shared by every database of a Postgres). */
const roleFor = (database: string) =>
  `${database
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40)}_hive_metastore`;
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** Where a catalog table's files are (`catalog.<database>.<table>` in SQL), or null when it has none. */
export type CatalogLookup = (database: string, table: string) => Promise<{ location: string | null; parquet: boolean } | null>;

export class MetastoreService {
  private catalog: NodeCatalog | null = null;
  /** why the catalog is not available (null when it is) */
  problem: string | null = 'the metastore has not been set up yet';

  constructor(
    private readonly sql: Sql,
    private readonly storage: StorageService,
    private readonly config: Pick<
      Config,
      'bucketsDir' | 'sparkJarsDir' | 'sparkWarehouseBucket' | 'sparkEventLogBucket' | 'objectPathMapping'
    >,
    private readonly password: string,
    private readonly log: Logger,
  ) {}

  /**
   * At server start, idempotently (servers starting together take turns on an advisory lock): the
   * role, its password, its schema, and the two buckets.
   */
  async start(databaseUrl: string): Promise<void> {
    const jar = findJdbcJar(this.config.sparkJarsDir);
    const url = new URL(databaseUrl);
    const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
    const role = roleFor(database);
    try {
      await this.sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext('emberplane hive metastore'))`;
        if ((await tx`select 1 from pg_roles where rolname = ${role}`).length === 0) await tx.unsafe(`create role ${ident(role)} login`);
        await tx.unsafe(
          `alter role ${ident(role)} with login nosuperuser nocreatedb nocreaterole noinherit password ${literal(this.password)}`,
        );
        await tx.unsafe(`alter role ${ident(role)} set search_path = ${ident(METASTORE_SCHEMA)}`);
        await tx.unsafe(`create schema if not exists ${ident(METASTORE_SCHEMA)} authorization ${ident(role)}`);
        await tx.unsafe(`alter schema ${ident(METASTORE_SCHEMA)} owner to ${ident(role)}`);
      });
    } catch (err) {
      this.problem = `the Hive metastore's Postgres role could not be set up (the server's database user needs CREATEROLE): ${(err as Error).message}`;
      this.log.warn({ err }, 'SPARK clusters run without the shared catalog');
      return;
    }
    if (!jar) {
      this.problem = `no PostgreSQL JDBC jar in ${this.config.sparkJarsDir}: run \`npm run spark:install\``;
      this.log.warn({ dir: this.config.sparkJarsDir }, 'SPARK clusters run without the shared catalog: no PostgreSQL JDBC jar');
      return;
    }
    const host = url.hostname.startsWith('[') ? url.hostname : url.hostname || '127.0.0.1';
    this.catalog = {
      jdbcUrl: `jdbc:postgresql://${host}:${url.port || 5432}/${encodeURIComponent(database)}?currentSchema=${METASTORE_SCHEMA}`,
      user: role,
      password: this.password,
      jdbcJar: jar,
      warehouse: this.bucketLocation(this.config.sparkWarehouseBucket),
      eventLog: this.bucketLocation(this.config.sparkEventLogBucket, EVENT_LOG_PREFIX),
    };
    this.problem = null;
  }

  /**
   * Where Spark reaches a bucket: its directory (the path mapping) or over S3 (s3a, the endpoint),
   * under `prefix` there: Spark strips the "/" of an event log location, and s3a refuses the bare
   * `s3a://bucket` that leaves.
   */
  private bucketLocation(bucket: string, prefix = ''): string {
    return this.config.objectPathMapping ? `file:${this.storage.prefixPath(bucket, '')}` : `s3a://${bucket}/${prefix}`;
  }

  /**
   * What a SPARK node needs to reach the catalog and write event logs (null: not available). The
   * two buckets are made here, for the first SPARK node (not at start: an install without Spark
   * clusters has no buckets it did not ask for).
   */
  async forNodes(): Promise<NodeCatalog | null> {
    if (!this.catalog) return null;
    for (const bucket of [this.config.sparkWarehouseBucket, this.config.sparkEventLogBucket]) {
      if (await this.storage.bucket(bucket, 'bucket')) continue;
      try {
        await this.storage.createBucket(bucket, 'bucket');
      } catch (err) {
        // another node's config made it meanwhile
        if (!(await this.storage.bucket(bucket, 'bucket'))) throw err;
      }
    }
    // over s3a, the event log directory must exist before a driver writes to it: its directory marker
    if (!this.config.objectPathMapping && !(await this.storage.head(this.config.sparkEventLogBucket, EVENT_LOG_PREFIX))) {
      await this.storage.put(this.config.sparkEventLogBucket, EVENT_LOG_PREFIX, []).catch(async (err: unknown) => {
        if (!(await this.storage.head(this.config.sparkEventLogBucket, EVENT_LOG_PREFIX))) throw err;
      });
    }
    return this.catalog;
  }

  /** The warehouse as an s3:// prefix (what table locations under it are shown as). */
  get warehouseUri(): string {
    return `s3://${this.config.sparkWarehouseBucket}/`;
  }

  /**
   * Every table of the metastore with its columns (in order) and location, as s3:// when under a
   * bucket. Empty until a first Spark app has used the metastore (its tables are made then).
   */
  async tables(filter: { database?: string | null } = {}): Promise<CatalogTable[]> {
    const present = await this.sql<{ name: string }[]>`
      select table_name as name from information_schema.tables where table_schema = ${METASTORE_SCHEMA} and table_name in ${this.sql(HIVE_TABLES)}`;
    if (present.length < HIVE_TABLES.length) return [];
    const s = ident(METASTORE_SCHEMA);
    const rows = await this.sql.unsafe<
      {
        db: string;
        tbl: string;
        type: string;
        location: string | null;
        inputFormat: string | null;
        col: string | null;
        colType: string | null;
      }[]
    >(
      `
      select d."NAME" as db, t."TBL_NAME" as tbl, t."TBL_TYPE" as type, s."LOCATION" as location, s."INPUT_FORMAT" as input_format,
             c."COLUMN_NAME" as col, c."TYPE_NAME" as col_type
        from ${s}."TBLS" t
        join ${s}."DBS" d on d."DB_ID" = t."DB_ID"
        left join ${s}."SDS" s on s."SD_ID" = t."SD_ID"
        left join ${s}."COLUMNS_V2" c on c."CD_ID" = s."CD_ID"
       where ($1::text is null or d."NAME" = $1)
       order by d."NAME", t."TBL_NAME", c."INTEGER_IDX"`,
      [filter.database ?? null],
    );
    const tables = new Map<string, CatalogTable>();
    for (const r of rows) {
      const key = `${r.db}\0${r.tbl}`;
      let table = tables.get(key);
      if (!table) {
        table = {
          database: r.db,
          name: r.tbl,
          type: r.type,
          location: r.location && this.toUri(r.location),
          columns: [],
          inputFormat: r.inputFormat,
        };
        tables.set(key, table);
      }
      if (r.col !== null) table.columns.push({ name: r.col, type: r.colType ?? '' });
    }
    return [...tables.values()];
  }

  /** The metastore's table `database.name`, or null. */
  async table(database: string, name: string): Promise<CatalogTable | null> {
    return (await this.tables({ database })).find((t) => t.name === name.toLowerCase()) ?? null;
  }

  /** For SQL steps' `catalog.<db>.<table>` (sql-query.ts). */
  readonly lookup: CatalogLookup = async (database, name) => {
    const table = await this.table(database, name);
    return table && { location: table.location, parquet: /parquet/i.test(table.inputFormat ?? '') };
  };

  /** A location as Spark wrote it (file:/<bucketsDir>/<bucket>/…, s3a://…) as the s3:// URI users know. */
  private toUri(location: string): string {
    if (/^s3a?:\/\//.test(location)) return location.replace(/^s3a:/, 's3:');
    const local = location.replace(/^file:(\/\/)?/, '');
    const root = `${this.config.bucketsDir}/`;
    return local.startsWith(root) ? `s3://${local.slice(root.length)}` : location;
  }
}
