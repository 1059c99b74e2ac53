// kill -9 of the server while it dispatches a bucket event: the event had committed, the server had
// taken it from the outbox but not yet queued its delivery. After a restart it is delivered, once.
import fs from 'node:fs/promises';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { waitUntil } from '../support/processes.js';
import { functionsDirOf } from '../support/server.js';
import { createTrigger, deliveriesOf, waitForDeliveries } from '../support/triggers.js';
import { api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
let db: postgres.Sql | null = null;
afterEach(async () => {
  await db?.end();
  db = null;
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
}, 90_000);

const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { key } } }`;
const keyOf = (d: any) => d.invocation.payload.Records[0].s3.object.key;

describe('kill -9 of a server dispatching trigger events', { timeout: 120_000 }, () => {
  it('an event the dead server had taken but not delivered is delivered after the restart, exactly once', async () => {
    t = await new SystemTest().init('emberplane-trig-restart-');
    const databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, ADMIN_API_KEY: TEST_KEY, FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir), PORT: '0' };
    const first = await t.start(env);
    const a = api(first);
    await a.data(`mutation { createBucket(input: { name: "durable" }) { bucket { name } } }`);
    const code = { files: [{ path: 'index.js', content: 'exports.handler = async (e) => ({ key: e.Records[0].s3.object.key });' }] };
    await a.data(`mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`, {
      input: { name: 'on-upload', runtime: 'NODEJS20', handler: 'index.handler', code },
    });
    await waitUntil(
      async () => (await a.data(`query { function(name: "on-upload") { state } }`)).function.state === 'ACTIVE',
      'the function to be ACTIVE',
    );
    await createTrigger(a, { name: 'durable', functionName: 'on-upload', bucket: { bucket: 'durable', events: ['s3:ObjectCreated:*'] } });

    // hold the trigger row: the dispatcher takes the event from the outbox, then waits for its
    // share lock on the trigger, inside its transaction
    db = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    const holder = await db.reserve();
    await holder`begin`;
    await holder`select 1 from triggers where name = 'durable' for update`;
    await a.data(PUT, { input: { bucket: 'durable', key: 'before-kill.txt', content: 'x' } });
    await waitUntil(async () => {
      const [row] =
        await db!`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%from triggers%for share%'`;
      return row!.n > 0;
    }, 'the dispatcher to hold the event and wait for the trigger');
    await first.kill('SIGKILL');
    await holder`rollback`;
    holder.release();

    const second = await t.start(env);
    const b = api(second);
    const [d] = await waitForDeliveries(b, 'durable', 1, 60_000);
    expect(d).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(d.invocation.response).toEqual({ key: 'before-kill.txt' });
    // a later event goes after it: once it is delivered, nothing else is left to come
    await b.data(PUT, { input: { bucket: 'durable', key: 'after-restart.txt', content: 'y' } });
    await waitUntil(
      async () => (await deliveriesOf(b, 'durable')).some((x) => keyOf(x) === 'after-restart.txt'),
      'the later event to be delivered',
    );
    const all = await waitForDeliveries(b, 'durable', 2);
    expect(all.map(keyOf).sort()).toEqual(['after-restart.txt', 'before-kill.txt']);
    const [outbox] = await db`select count(*)::int as n from trigger_outbox`;
    expect(outbox!.n).toBe(0);
  });
});
