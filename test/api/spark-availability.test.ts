// Without pyspark (here: a python that does not exist) the server still runs; the applications
// query says why SPARK is unavailable and a SPARK cluster is refused with that reason.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CREATE_CLUSTER, expectError, MASTER } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ python: '/nonexistent/bin/python3' });
});
afterAll(async () => {
  await server?.close();
});

it('reports SPARK unavailable with what is missing, and refuses SPARK clusters without creating anything', async () => {
  const { applications } = await server.data(`{ applications { name available reason } }`);
  const spark = applications.find((a: any) => a.name === 'SPARK');
  expect(spark.available).toBe(false);
  expect(spark.reason).toContain('python3 was not found at /nonexistent/bin/python3');
  expect(spark.reason).toContain('python3 -m pip install pyspark==3.5.7');
  const res = await server.gql(CREATE_CLUSTER, { input: { name: 's', applications: ['SPARK'], instanceGroups: [MASTER] } });
  expectError(res, 'BAD_USER_INPUT', 'input.applications.0');
  expect(res.errors![0]!.message).toBe(spark.reason);
  expect((await server.data(`{ clusters { edges { node { id } } } }`)).clusters.edges).toEqual([]);
});
