// kill -9 of the server while the invocation records it answered with are not in Postgres yet:
// each is in the server's journal before its caller hears of it, and the next server stores them
// (functions/invocations.ts, engine/functions/journal.ts). Postgres is held back by a lock on the
// invocations table, so that no record can be stored before the kill.
import fs from 'node:fs/promises';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { waitUntil } from '../support/processes.js';
import { functionsDirOf } from '../support/server.js';
import { api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
let db: postgres.Sql | null = null;
afterEach(async () => {
  await db?.end();
  db = null;
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
}, 90_000);

const CREATE = `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`;
const STATE = `query($name: String!) { function(name: $name) { state } }`;
const INVOKE = `mutation($input: InvokeFunctionInput!) {
  invokeFunction(input: $input) { statusCode payload invocation { id status traceId billedDurationMs } } }`;
const LIST = `query($name: String!) { invocations(first: 100, filter: { functionName: $name }) {
  edges { node { id status response traceId billedDurationMs logs { text } } } } }`;

describe('invocation records through a kill -9 of the server', { timeout: 120_000 }, () => {
  it('every invocation answered before the kill is listed after the restart, as it was answered', async () => {
    t = await new SystemTest().init('emberplane-inv-journal-');
    const env = {
      DATABASE_URL: await createTestDatabase(),
      ADMIN_API_KEY: TEST_KEY,
      FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir),
      PORT: '0',
    };
    const first = await t.start(env);
    const a = api(first);
    await a.data(CREATE, {
      input: {
        name: 'echo',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        code: { files: [{ path: 'index.js', content: 'exports.handler = async (e) => { console.log("n=" + e.n); return { n: e.n }; };' }] },
      },
    });
    await waitUntil(async () => (await a.data(STATE, { name: 'echo' })).function.state === 'ACTIVE', 'echo ACTIVE');
    const warm = (await a.data(INVOKE, { input: { functionName: 'echo', payload: { n: 0 } } })).invokeFunction;

    // inserts into invocations wait for this lock (reads don't): nothing more is stored until the kill
    db = postgres(env.DATABASE_URL, { max: 2, onnotice: () => {} });
    const locked = await db.reserve();
    await locked`begin`;
    await locked`lock table invocations in exclusive mode`;
    const answered = await Promise.all(
      Array.from({ length: 12 }, (_, i) => a.data(INVOKE, { input: { functionName: 'echo', payload: { n: i + 1 } } })),
    );
    for (const [i, r] of answered.entries()) expect(r.invokeFunction).toMatchObject({ statusCode: 200, payload: { n: i + 1 } });
    // the statement storing them is waiting on the lock
    await waitUntil(
      async () =>
        (await db!`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%insert into invocations%'`).length > 0 ||
        null,
      'the records to wait on the lock',
    );
    await first.kill('SIGKILL');
    await locked`rollback`;
    locked.release();

    const second = await t.start(env);
    const b = api(second);
    const listed = new Map<string, any>(
      (await b.data(LIST, { name: 'echo' })).invocations.edges.map((e: any) => [e.node.id, e.node] as const),
    );
    for (const r of [warm, ...answered.map((x) => x.invokeFunction)]) {
      const row = listed.get(r.invocation.id);
      expect(row, `invocation ${r.invocation.id}`).toBeDefined();
      expect(row).toMatchObject({
        status: 'SUCCEEDED',
        response: r.payload,
        traceId: r.invocation.traceId,
        billedDurationMs: r.invocation.billedDurationMs,
      });
      // its own log lines came with it: START, the handler's line, END and REPORT
      const texts = row.logs.map((l: { text: string }) => l.text).join('\n');
      expect(texts).toContain(`n=${r.payload.n}`);
      expect(texts).toMatch(/REPORT RequestId/);
    }
    expect(listed.size).toBe(13);
  });
});
