import { duckdb } from '../engine/sql/duckdb.js';

/** Instance types a cluster can ask for. Sizes follow the EC2 types EMR users know. */
export interface InstanceType {
  name: string;
  vcpu: number;
  memoryMb: number;
}

export const INSTANCE_TYPES: readonly InstanceType[] = [
  { name: 'm5.large', vcpu: 2, memoryMb: 8_192 },
  { name: 'm5.xlarge', vcpu: 4, memoryMb: 16_384 },
  { name: 'm5.2xlarge', vcpu: 8, memoryMb: 32_768 },
  { name: 'c5.large', vcpu: 2, memoryMb: 4_096 },
  { name: 'c5.xlarge', vcpu: 4, memoryMb: 8_192 },
  { name: 'r5.large', vcpu: 2, memoryMb: 16_384 },
  { name: 'r5.xlarge', vcpu: 4, memoryMb: 32_768 },
  { name: 't3.small', vcpu: 2, memoryMb: 2_048 },
];

const byName = new Map(INSTANCE_TYPES.map((t) => [t.name, t]));

export function instanceType(name: string): InstanceType | undefined {
  return byName.get(name);
}

/**
 * Applications a cluster can run, and whether this engine can run them now (Spark: pyspark and Java
 * found on this host; DuckDB: @duckdb/node-api loads). Asking for one that is not available is
 * refused with a clear error rather than silently ignored.
 */
export interface ApplicationInfo {
  name: string;
  available: boolean;
  reason: string | null;
}

/** The catalog with SPARK as this host can run it (see engine/spark-runtime.ts). */
export function applicationsWith(spark: { available: boolean; reason: string | null }): ApplicationInfo[] {
  return APPLICATIONS.map((a) => (a.name === 'SPARK' ? { name: a.name, available: spark.available, reason: spark.reason } : a));
}

export const APPLICATIONS: readonly ApplicationInfo[] = [
  { name: 'SPARK', available: false, reason: 'Spark clusters are not provided by this engine yet' },
  { name: 'DUCKDB', available: duckdb.api !== null, reason: duckdb.error && `@duckdb/node-api could not be loaded: ${duckdb.error}` },
];
