// DuckDB confined to the buckets, shared by the SQL step runner (its own process on the master
// node) and the control plane's in-process instance (query checks and sqlPreview).
//
// enable_external_access=false turns off every file system operation except inside
// allowed_directories, and also extension installs/loads and ATTACH elsewhere; lock_configuration
// then keeps a query from turning any of it back on (a SET inside the query fails). Only the
// extensions built into @duckdb/node-api (parquet, json, icu) work, and autoloading is off so no
// query can try to fetch one.
//
// SQL steps without the object path mapping also load httpfs (from the extension directory
// `npm run spark:install` fills: signed by DuckDB, never downloaded here) and make the one S3 secret,
// before the lock. enable_external_access=false still holds: the allowed "directories" are then the
// s3://<bucket>/ prefixes of the buckets the step names, so the query reaches those buckets over
// the network and nothing else (no other bucket, no local file, no other URL scheme).

/** Options given when the instance is created (before any query runs). */
export const INSTANCE_OPTIONS = Object.freeze({
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  allow_unsigned_extensions: 'false',
});

/**
 * Loads httpfs and makes the S3 secret of the node's credential (the AWS_* variables its agent set:
 * docs/security.md "Cluster credentials"), path-style against the control plane's endpoint. The
 * secret is in memory only (a temporary secret) and duckdb_secrets() shows it redacted.
 * @param {import('@duckdb/node-api').DuckDBConnection} connection
 * @param {NodeJS.ProcessEnv} env
 */
export async function connectS3(connection, env) {
  const { AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_ENDPOINT_URL_S3: endpoint } = env;
  if (!keyId || !secret || !endpoint)
    throw new Error('this node has no S3 credential (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3)');
  const url = new URL(endpoint);
  await connection.run('LOAD httpfs');
  await connection.run(
    `CREATE SECRET node_s3 (TYPE s3, KEY_ID ${sqlString(keyId)}, SECRET ${sqlString(secret)}, ENDPOINT ${sqlString(url.host)}, ` +
      `URL_STYLE 'path', USE_SSL ${url.protocol === 'https:'}, REGION ${sqlString(env.AWS_REGION || 'us-east-1')})`,
  );
}

/** @param {string} value */
export function sqlString(value) {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Statements that confine `connection`'s database to `directories` (each ends with "/" so that
 * "/data/buckets" does not also allow "/data/buckets-old"). `settings` are applied just before the
 * lock: nothing can change afterwards.
 * @param {import('@duckdb/node-api').DuckDBConnection} connection
 * @param {readonly string[]} directories
 * @param {Record<string, string | number | boolean>} [settings]
 */
export async function lockDown(connection, directories, settings = {}) {
  const dirs = directories.map((d) => sqlString(d.endsWith('/') ? d : `${d}/`));
  await connection.run(`SET allowed_directories = [${dirs.join(', ')}]`);
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`bad DuckDB setting name ${name}`);
    await connection.run(`SET ${name} = ${typeof value === 'string' ? sqlString(value) : String(value)}`);
  }
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}

/**
 * DuckDB's messages name local files: say s3://bucket/key instead, as the user wrote it (objects
 * live at <bucketsDir>/<bucket>/<key>).
 * @param {string} text
 * @param {string} bucketsDir absolute
 */
export function localPathsToUris(text, bucketsDir) {
  return text.replaceAll(`${bucketsDir.replace(/\/+$/, '')}/`, 's3://');
}
