// A `clusters`/`cluster` read fetches only the row columns its selection shows (CLUSTER_FIELD_COLUMNS,
// src/clusters/graphql/mappers.ts, kept by hand beside toCluster and the field resolvers). If a
// field's mapping came to read a column the map does not name, a partial row would answer it wrong:
// each field, computed from a row holding only its named columns, must equal the field computed from
// the whole row.
import 'reflect-metadata';
import { expect, it } from 'vitest';
import { ClusterResolver } from '../../src/clusters/graphql/cluster-resolver.js';
import { CLUSTER_FIELD_COLUMNS, toCluster } from '../../src/clusters/graphql/mappers.js';
import type { ClusterRow } from '../../src/clusters/tables.js';

// every column set, and to a value no other column has
const whole: ClusterRow = {
  id: 'cl-1',
  name: 'name',
  state: 'RUNNING',
  stateReasonCode: 'USER_REQUEST',
  stateReasonMessage: 'asked for',
  applications: ['SPARK'],
  keepAlive: true,
  idleTimeoutSeconds: 600,
  stepConcurrency: 3,
  terminationProtected: true,
  clientToken: 'token',
  requestHash: 'hash',
  eventSeq: 7,
  createdAt: new Date('2026-12-01T00:00:00Z'),
  readyAt: new Date('2026-12-01T00:01:00Z'),
  endedAt: new Date('2026-12-01T00:02:00Z'),
  lastActiveAt: new Date('2026-12-01T00:03:00Z'),
  bootstrapActions: [{ name: 'b', path: 's3://b/a.sh', args: [] }],
  sparkMasterUrl: 'spark://m:7077',
  sparkMasterWebUrl: 'http://m:8080',
};

/** the field as the API answers it: toCluster's, or the field resolver's */
function fieldOf(row: Partial<ClusterRow>, field: string): unknown {
  const cluster = toCluster(row as ClusterRow);
  if (field === 'stateChangeReason') return ClusterResolver.prototype.stateChangeReason.call(null, cluster);
  return (cluster as unknown as Record<string, unknown>)[field];
}

it('each field of Cluster computed from only the columns CLUSTER_FIELD_COLUMNS names is the field computed from the whole row', () => {
  const lists = ['instanceGroups', 'instances', 'steps', '__typename'];
  for (const [field, columns] of Object.entries(CLUSTER_FIELD_COLUMNS)) {
    if (lists.includes(field)) continue;
    const partial = Object.fromEntries(columns.map((c) => [c, whole[c]]));
    const expected = fieldOf(whole, field);
    expect(expected, `${field} has a value from the whole row`).not.toBeUndefined();
    expect(fieldOf(partial, field), field).toEqual(expected);
  }
});
