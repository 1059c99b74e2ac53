// kill -9 of the server while a QUEUE trigger's batch runs: the message was received, never deleted.
// After a restart it comes back once its visibility timeout passes and is processed (receive count
// 2), and a message published to a topic subscribed by the queue meanwhile is not lost either.
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { createQueue, createTopic, getQueue, publish, send } from '../support/messaging.js';
import { waitUntil } from '../support/processes.js';
import { functionsDirOf } from '../support/server.js';
import { createTrigger, deliveriesOf } from '../support/triggers.js';
import { api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
afterEach(async () => {
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
}, 90_000);

// the first receive of the message sent before the kill takes long enough to be killed in the middle
// of it; the one published after the restart is answered at once (were it slow too, a busy machine
// could push it past its 3 s visibility timeout and receive it twice)
const HANDLER = `exports.handler = async (e) => {
  if (e.Records.some((r) => r.body === 'job' && r.attributes.ApproximateReceiveCount === '1')) await new Promise((r) => setTimeout(r, 2500));
  return { records: e.Records.map((r) => ({ id: r.messageId, count: r.attributes.ApproximateReceiveCount, body: r.body })) };
};`;

describe('kill -9 of a server running a queue batch', { timeout: 120_000 }, () => {
  it("the batch's message comes back after the visibility timeout and is processed by the restarted server", async () => {
    t = await new SystemTest().init('emberplane-queue-restart-');
    const databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, ADMIN_API_KEY: TEST_KEY, FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir), PORT: '0' };
    const first = await t.start(env);
    const a = api(first);
    await createQueue(a, { name: 'work', visibilityTimeoutSeconds: 3 });
    await a.data(`mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`, {
      input: {
        name: 'worker',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        timeoutSeconds: 3,
        code: { files: [{ path: 'index.js', content: HANDLER }] },
      },
    });
    await waitUntil(
      async () => (await a.data(`query { function(name: "worker") { state } }`)).function.state === 'ACTIVE',
      'the function to be ACTIVE',
    );
    await createTrigger(a, { name: 'work-map', functionName: 'worker', queue: { queueName: 'work', batchSize: 1 } });

    const { messageId } = await send(a, 'work', 'job');
    await waitUntil(async () => (await getQueue(a, 'work')).approximateNumberOfMessagesNotVisible === 1, 'the mapping to take the message');
    await first.kill('SIGKILL');

    const second = await t.start(env);
    const b = api(second);
    // published while the message waits out its visibility timeout: a topic subscription puts it in the queue
    await createTopic(b, 'jobs');
    await b.data(
      `mutation { subscribeQueue(input: { topicName: "jobs", queueName: "work", rawMessageDelivery: true }) { subscription { id } } }`,
    );
    await publish(b, { topicName: 'jobs', message: 'published job' });

    const done = await waitUntil(
      async () => {
        const q = await getQueue(b, 'work');
        const settled = q.approximateNumberOfMessages + q.approximateNumberOfMessagesNotVisible === 0;
        const records = (await deliveriesOf(b, 'work-map'))
          .filter((d: any) => d.status === 'SUCCEEDED')
          .flatMap((d: any) => d.invocation.response.records);
        return settled && records.length >= 2 ? records : null;
      },
      'both messages to be processed and deleted',
      60_000,
    );
    const job = done.filter((r: any) => r.body === 'job');
    // the killed batch left no record; the message was processed once, on its second receive
    expect(job).toEqual([{ id: messageId, count: '2', body: 'job' }]);
    // nothing interrupted this one: processed on its first receive
    expect(done.filter((r: any) => r.body === 'published job')).toEqual([
      { id: expect.stringMatching(/^[0-9a-f-]{36}$/), count: '1', body: 'published job' },
    ]);
  });
});
