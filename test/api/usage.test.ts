// Cluster.usage: instance hours from real node lifetimes, normalized by size, priced from the
// configured table; grows while the cluster runs, stops when it ends; one query for a page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, Fixtures, MASTER, TERMINATE_CLUSTERS, waitForCluster, waitForClusterState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { DEFAULT_PRICES, loadPriceTable, normalizationFactor } from '../../src/clusters/pricing.js';

let server: TestServer;
const fixtures = new Fixtures();
const statements: string[] = [];
const PRICES = { currency: 'EUR', prices: { 'm5.large': 1.5, 'm5.xlarge': 3.25 } };

beforeAll(async () => {
  server = await startTestServer({ priceTable: JSON.stringify(PRICES) }, { onQuery: (q) => statements.push(q) });
});
afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

const USAGE = `query($id: ID!) { cluster(id: $id) { id state usage { instanceHours normalizedInstanceHours estimatedCost currency unpricedInstanceTypes }
  instances { instanceType createdAt endedAt } } }`;
const LIST = `query($ids: [ID!]) { clusters(first: 100, filter: { ids: $ids }) { edges { node { id usage { instanceHours estimatedCost } } } } }`;

const hours = (i: { createdAt: string; endedAt: string }) => (Date.parse(i.endedAt) - Date.parse(i.createdAt)) / 3_600_000;

describe('usage and cost', () => {
  it('grows while the cluster runs, stops when it ends, and is hours × factor and hours × price', async () => {
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'usage',
        instanceGroups: [MASTER, { role: 'CORE', instanceType: 'm5.xlarge', count: 2 }],
      }),
    );
    await waitForClusterState(server, id, ['WAITING']);
    const a = (await server.data(USAGE, { id })).cluster.usage;
    const b = (await waitForCluster(server, id, (c) => c.usage.instanceHours > a.instanceHours, 'usage to grow', { query: USAGE })).usage;
    expect(b.normalizedInstanceHours).toBeGreaterThan(a.normalizedInstanceHours);
    expect(b.estimatedCost).toBeGreaterThan(a.estimatedCost);
    expect(b.currency).toBe('EUR');

    await server.data(TERMINATE_CLUSTERS, { ids: [id] });
    const ended = await waitForClusterState(server, id, ['TERMINATED'], { query: USAGE });
    const again = (await server.data(USAGE, { id })).cluster;
    expect(again.usage).toEqual(ended.usage);
    expect(ended.usage.instanceHours).toBeGreaterThanOrEqual(b.instanceHours);

    // the figures, from the instances' own lifetimes (ms here, µs in Postgres)
    const large = ended.instances.filter((i: any) => i.instanceType === 'm5.large').map(hours);
    const xlarge = ended.instances.filter((i: any) => i.instanceType === 'm5.xlarge').map(hours);
    expect(large).toHaveLength(1);
    expect(xlarge).toHaveLength(2);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    // each lifetime is off by at most 1 ms at either end once rounded to ms
    const close = (actual: number, wLarge: number, wXlarge: number) => {
      const tolerance = ((wLarge * 1 + wXlarge * 2) * 2) / 3_600_000;
      expect(Math.abs(actual - (wLarge * sum(large) + wXlarge * sum(xlarge)))).toBeLessThanOrEqual(tolerance);
    };
    close(ended.usage.instanceHours, 1, 1);
    close(ended.usage.normalizedInstanceHours, 4, 8);
    close(ended.usage.estimatedCost, 1.5, 3.25);
    expect(ended.usage.unpricedInstanceTypes).toEqual([]);
  });

  it('a page of clusters reads usage in one statement', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(fixtures.cluster(await createCluster(server, { name: `usage-page-${i}`, instanceGroups: [MASTER] })));
    await server.data(TERMINATE_CLUSTERS, { ids });
    statements.length = 0;
    const { clusters } = await server.data(LIST, { ids });
    expect(clusters.edges).toHaveLength(4);
    // the usage statement (the controllers share the pool, so only that one is counted)
    expect(statements.filter((s) => s.includes('coalesce(ended_at, now()) - created_at'))).toHaveLength(1);
  });
});

describe('price table', () => {
  it('built-in prices, overrides inline or nested with a currency, and clear errors', () => {
    expect(loadPriceTable(null)).toEqual({ currency: 'USD', prices: new Map(Object.entries(DEFAULT_PRICES)) });
    const inline = loadPriceTable('{"m5.large": 0.5}');
    expect(inline.prices.get('m5.large')).toBe(0.5);
    expect(inline.prices.get('r5.large')).toBe(DEFAULT_PRICES['r5.large']);
    expect(loadPriceTable(JSON.stringify(PRICES)).currency).toBe('EUR');
    expect(() => loadPriceTable('{"m5.large": -1}')).toThrow(/PRICE_TABLE price of m5.large/);
    expect(() => loadPriceTable('{"x9.huge": 1}')).toThrow(/unknown instance type "x9.huge"/);
    expect(() => loadPriceTable('/no/such/file.json')).toThrow(/PRICE_TABLE is neither valid JSON nor a readable JSON file/);
    expect(() => loadPriceTable('{"currency": "euro", "prices": {}}')).toThrow(/3-letter code/);
  });

  it("normalization factors follow EMR's sizes", () => {
    expect(
      ['t3.nano', 't3.micro', 't3.small', 't3.medium', 'm5.large', 'm5.xlarge', 'm5.2xlarge', 'm5.4xlarge', 'm5.24xlarge'].map(
        normalizationFactor,
      ),
    ).toEqual([0.25, 0.5, 1, 2, 4, 8, 16, 32, 192]);
  });
});
