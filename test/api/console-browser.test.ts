// The web console in a real browser (Debian's chromium, driven by playwright-core) against a real
// server, offline beyond it: sign in (a wrong key is refused with the reason), a bad input shows
// the field's error, a cluster is created and reaches WAITING on its page without a reload, a step
// is added and its log streams in while its bar reaches 100%; then the other pages' main flows on
// the same server and cluster: a script step, a SQL preview, a queue, a topic, a key, an alias's
// traffic split, a trigger. Screenshots of the pages are saved in test-results/console/.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Storage {
  getItem(key: string): string | null;
  length: number;
}
import { Fixtures, masterScratch } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI === 'true') throw new Error(`chromium is required under CI=true (${CHROMIUM}; apt-get install -y chromium)`);
  console.warn(`Skipping the console browser test: no ${CHROMIUM} (apt-get install -y chromium)`);
}
const SHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/console');
// waits on what the page shows; generous because the first request bundles the console
const SHOWN_MS = 60_000;

describe.skipIf(!available)('the web console in a browser', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const offsite: string[] = [];
  const fixtures = new Fixtures();
  // the cluster the console creates (with DUCKDB, for the SQL preview), reused by the later cases
  let clusterId = '';

  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const origin = new URL(server.url).origin;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith(origin.replace(/^http/, 'ws'))) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await fixtures.cleanup(server);
    await server?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  it('signs in with a key kept in the tab only; a wrong key is refused with the reason', async () => {
    await page.goto(server.url);
    await page.getByLabel('API key').fill('ep_wrong_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: SHOWN_MS }).toMatch(/UNAUTHENTICATED/);
    await shot('sign-in');
    await page.getByLabel('API key').fill(server.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor({ timeout: SHOWN_MS });
    expect(page.url()).not.toContain(server.key);
    const stored = await page.evaluate(() => {
      const { sessionStorage, localStorage } = globalThis as unknown as Record<'sessionStorage' | 'localStorage', Storage>;
      return [sessionStorage.getItem('emberplane:apiKey'), localStorage.length] as const;
    });
    expect(stored).toEqual([server.key, 0]);
  });

  it('shows the field of a bad input and creates nothing', async () => {
    const form = page.getByRole('form', { name: 'create a cluster' });
    await form.getByLabel('Name').fill('bad-count');
    await form.getByLabel('CORE nodes').fill('-3');
    await form.getByRole('button', { name: 'Create' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor({ timeout: SHOWN_MS });
    expect(await alert.textContent()).toMatch(/BAD_USER_INPUT on input\.instanceGroups\.1\.count: must be an integer/);
    await shot('create-cluster-error');
    const { clusters } = await server.data(`{ clusters(first: 10) { edges { node { name } } } }`);
    expect(clusters.edges).toEqual([]);
  });

  it('creates a cluster and shows it reach WAITING without a reload; a step streams its log and its bar reaches 100%', async () => {
    const form = page.getByRole('form', { name: 'create a cluster' });
    await form.getByLabel('Name').fill('from-the-console');
    await form.getByLabel('CORE nodes').fill('1');
    await form.getByLabel('DUCKDB').check();
    let reloads = 0;
    page.on('load', () => reloads++);
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /from-the-console/ }).waitFor({ timeout: SHOWN_MS });
    const id = (await page.locator('p.mono').first().textContent())!;
    clusterId = fixtures.cluster(id);
    await page
      .getByRole('heading', { name: /from-the-console/ })
      .getByText('WAITING')
      .waitFor({ timeout: SHOWN_MS });
    const nodes = page.getByRole('table', { name: 'nodes' });
    await expect.poll(() => nodes.getByText('RUNNING').count(), { timeout: SHOWN_MS }).toBe(2);
    await expect.poll(() => page.getByRole('list', { name: 'events' }).locator('li').count(), { timeout: SHOWN_MS }).toBeGreaterThan(0);
    await shot('cluster');

    const add = page.getByRole('form', { name: 'add a step' });
    await add.getByLabel('Name').fill('count');
    // the step holds at 40% until the test has seen its first lines: the page is live, not lucky
    // a file in the master node's scratch directory (the step runs sandboxed and sees only its node's files)
    const gate = path.join(await masterScratch(server, id, 'console'), 'gate');
    await add
      .getByLabel('Command (bash)')
      .fill(
        `for i in $(seq 1 8); do echo "line $i"; echo "::progress $((i * 5))%"; done; while [ ! -e ${gate} ]; do sleep 0.1; done; for i in $(seq 9 20); do echo "line $i"; echo "::progress $((i * 5))%"; done`,
      );
    await add.getByRole('button', { name: 'Add step' }).click();
    await page.getByRole('heading', { name: /count/ }).waitFor({ timeout: SHOWN_MS });
    const log = page.getByTestId('log-lines');
    await log.getByText('line 8', { exact: true }).waitFor({ timeout: SHOWN_MS });
    const bar = page.getByRole('progressbar').first();
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: SHOWN_MS }).toBe('40');
    writeFileSync(gate, '');
    await log.getByText('line 20', { exact: true }).waitFor({ timeout: SHOWN_MS });
    await page.getByRole('heading', { name: /count/ }).getByText('COMPLETED').waitFor({ timeout: SHOWN_MS });
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: SHOWN_MS }).toBe('100');
    await log.getByText(/^Step completed \(exit code 0\)$/).waitFor({ timeout: SHOWN_MS });
    expect(await log.locator('.line.system').count()).toBeGreaterThanOrEqual(2);
    await page.getByLabel('search the log').fill('line 1');
    const found = ['line 1', ...Array.from({ length: 10 }, (_, i) => `line ${10 + i}`)];
    await expect.poll(() => log.locator('.line .text').allTextContents(), { timeout: SHOWN_MS }).toEqual(found);
    await shot('step-log');
    expect(reloads).toBe(0);
    expect(offsite).toEqual([]);
  });

  it('deploys a function from a typed-in file, invokes it with an event template and shows the response, the log and the REPORT line', async () => {
    await page.getByRole('link', { name: 'Functions' }).click();
    const form = page.getByRole('form', { name: 'deploy a function' });
    await form.getByLabel('Name').fill('console-fn');
    await form
      .getByLabel('code')
      .fill(
        'def handler(event, context):\n    print("records:", len(event["Records"]))\n    return {"bucket": event["Records"][0]["s3"]["bucket"]["name"]}\n',
      );
    await form.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { name: /console-fn/ }).waitFor({ timeout: SHOWN_MS });
    // deploying is asynchronous (PENDING, then ACTIVE): the page reads it again on Refresh
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.getByRole('heading', { name: /console-fn/ }).textContent();
        },
        { timeout: SHOWN_MS },
      )
      .toMatch(/ACTIVE/);
    const test = page.getByRole('form', { name: 'test invoke' });
    await test.getByLabel('Event template').selectOption('S3 Put');
    await test.getByRole('button', { name: 'Invoke' }).click();
    const response = test.getByLabel('response');
    await response.waitFor({ timeout: SHOWN_MS });
    expect(JSON.parse((await response.textContent())!)).toEqual({ bucket: 'my-bucket' });
    expect(await test.getByLabel('invocation log').textContent()).toMatch(/records: 1/);
    expect(await test.locator('.report').textContent()).toMatch(/^REPORT RequestId: [0-9a-f-]{36}\tDuration: /);
    await test.getByRole('textbox', { name: 'event' }).fill('{not json');
    await test.getByRole('button', { name: 'Invoke' }).click();
    expect(await test.getByRole('alert').first().textContent()).toMatch(/The event is not JSON/);
    await shot('function');
  });

  it('creates a bucket, uploads a file with its progress shown, browses by prefix and downloads the same bytes', async () => {
    await page.getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('form', { name: 'create a bucket' }).getByLabel('Name').fill('console-bucket');
    await page.getByRole('button', { name: 'Create bucket' }).click();
    await page.getByRole('heading', { name: 'console-bucket' }).waitFor({ timeout: SHOWN_MS });
    const bytes = randomBytes(2 * 1024 * 1024);
    const upload = page.getByRole('form', { name: 'upload' });
    await upload.getByLabel('file to upload').setInputFiles({ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await upload.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => upload.getByRole('progressbar').getAttribute('aria-valuenow'), { timeout: SHOWN_MS }).toBe('100');
    const row = page.getByRole('table', { name: 'objects' }).getByRole('row', { name: /blob\.bin/ });
    await row.waitFor({ timeout: SHOWN_MS });
    expect(await row.textContent()).toMatch(/2,097,152 B/);
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()]);
    expect(readFileSync((await download.path())!).equals(bytes)).toBe(true);
    // a "folder": an object under a prefix shows as one, and opens
    await server.data(
      `mutation { putObject(input: { bucket: "console-bucket", key: "logs/2026/a.txt", content: "hello" }) { object { key } } }`,
    );
    await page.reload();
    await page.getByRole('button', { name: 'logs/' }).click();
    await page.getByRole('button', { name: '2026/' }).click();
    await page.getByRole('table', { name: 'objects' }).getByText('a.txt').waitFor({ timeout: SHOWN_MS });
    await shot('bucket');
  });

  const gql = (query: string, variables?: Record<string, unknown>) => server.data(query, variables);
  const putObject = (bucket: string, key: string, content: string) =>
    gql(`mutation($input: PutObjectInput!) { putObject(input: $input) { object { key } } }`, { input: { bucket, key, content } });

  it('adds a script step from a bucket (a missing script shows its field) and runs a SQL preview over a bucket into a table', async () => {
    await putObject('console-bucket', 'jobs/hello.sh', 'echo "hello from $1"\n');
    await putObject('console-bucket', 'data/people.csv', 'name,age\nada,36\nalan,41\n');
    await page.goto(`${server.url}#/clusters/${clusterId}`);
    const add = page.getByRole('form', { name: 'add a step' });
    await add.getByLabel('Script').check();
    await add.getByLabel('Name').fill('script');
    await add.getByLabel('Script URI').fill('s3://console-bucket/jobs/missing.sh');
    await add.getByRole('button', { name: 'Add step' }).click();
    expect(await add.getByRole('alert').textContent({ timeout: SHOWN_MS })).toMatch(/on input\.steps\.0\.script\.uri: /);
    await add.getByLabel('Script URI').fill('s3://console-bucket/jobs/hello.sh');
    await add.getByLabel('Arguments (one a line)').fill('the console');
    await shot('add-script-step');
    await add.getByRole('button', { name: 'Add step' }).click();
    await page
      .getByRole('heading', { name: /script/ })
      .getByText('COMPLETED')
      .waitFor({ timeout: SHOWN_MS });
    await page.getByTestId('log-lines').getByText('hello from the console', { exact: true }).waitFor({ timeout: SHOWN_MS });

    await page.getByRole('link', { name: 'SQL' }).click();
    const form = page.getByRole('form', { name: 'sql preview' });
    await form.getByLabel('query').fill("SELECT name, age FROM read_csv('s3://console-bucket/data/people.csv') ORDER BY age DESC");
    await form.getByRole('button', { name: 'Run' }).click();
    const result = page.getByRole('table', { name: 'result' });
    await result.waitFor({ timeout: SHOWN_MS });
    const cells = await Promise.all((await result.locator('tbody tr').all()).map((row) => row.locator('td').allTextContents()));
    expect(cells).toEqual([
      ['alan', '41'],
      ['ada', '36'],
    ]);
    expect(await result.locator('th').allTextContents()).toEqual([expect.stringMatching(/^name/), expect.stringMatching(/^age/)]);
    await shot('sql-preview');
  });

  it('creates a queue, sends a message and receives it, redrives a dead-letter queue; a topic publishes to the queue subscribed to it', async () => {
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('form', { name: 'create a queue' }).getByLabel('Name').fill('console-queue');
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.getByRole('heading', { name: /console-queue/ }).waitFor({ timeout: SHOWN_MS });
    const send = page.getByRole('form', { name: 'send a message' });
    await send.getByLabel('message body').fill('hello queue');
    await send.getByRole('button', { name: 'Send' }).click();
    const sentId = (await send.getByText(/^sent /).textContent({ timeout: SHOWN_MS }))!.replace(/^sent /, '');
    const receive = page.getByRole('form', { name: 'receive messages' });
    await receive.getByRole('button', { name: 'Receive' }).click();
    const row = receive.getByRole('table', { name: 'received messages' }).getByRole('row', { name: /hello queue/ });
    await row.waitFor({ timeout: SHOWN_MS });
    expect(await row.locator('td').first().textContent()).toBe(sentId);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByText('deleted').waitFor({ timeout: SHOWN_MS });

    // a queue made with a dead-letter queue; redrive moves the dead-letter queue's message back
    await gql(`mutation { createQueue(input: { name: "console-dlq" }) { queue { id } } }`);
    await gql(`mutation { sendMessage(input: { queueName: "console-dlq", body: "poison" }) { messageId } }`);
    await page.getByRole('link', { name: 'Queues', exact: true }).click();
    const create = page.getByRole('form', { name: 'create a queue' });
    await create.getByLabel('Name').fill('console-work');
    await create.getByLabel('Dead-letter queue').fill('console-dlq');
    await create.getByRole('button', { name: 'Create queue' }).click();
    const redrive = page.getByRole('region', { name: 'redrive' });
    await redrive.getByRole('button', { name: 'Move messages back from console-dlq' }).click();
    await redrive.getByText('1 moved').waitFor({ timeout: SHOWN_MS });
    await shot('queue');
    const bodies = (queueName: string) =>
      gql(`mutation($q: String!) { receiveMessages(input: { queueName: $q, maxNumberOfMessages: 10 }) { messages { body } } }`, {
        q: queueName,
      }).then((d) => d.receiveMessages.messages.map((m: { body: string }) => m.body));
    expect(await bodies('console-work')).toEqual(['poison']);
    expect(await bodies('console-dlq')).toEqual([]);

    await page.getByRole('link', { name: 'Topics' }).click();
    await page.getByRole('form', { name: 'create a topic' }).getByLabel('Name').fill('console-topic');
    await page.getByRole('button', { name: 'Create topic' }).click();
    await page.getByRole('heading', { name: 'console-topic' }).waitFor({ timeout: SHOWN_MS });
    const subscribe = page.getByRole('form', { name: 'subscribe a queue' });
    await subscribe.getByLabel('Queue').fill('console-queue');
    await subscribe.getByLabel('raw message delivery').check();
    await subscribe.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByRole('table', { name: 'subscriptions' }).getByText('console-queue').waitFor({ timeout: SHOWN_MS });
    const publish = page.getByRole('form', { name: 'publish' });
    await publish.getByLabel('message').fill('hello topic');
    await publish.getByRole('button', { name: 'Publish' }).click();
    expect(await publish.getByRole('status', { name: 'published' }).textContent({ timeout: SHOWN_MS })).toMatch(
      /queued for 1 subscription$/,
    );
    await shot('topic');
    const { receiveMessages } = await gql(
      `mutation { receiveMessages(input: { queueName: "console-queue", waitTimeSeconds: 5 }) { messages { body } } }`,
    );
    expect(receiveMessages.messages).toEqual([{ body: 'hello topic' }]);
  });

  it('creates a key whose secret is shown once and works, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    const create = page.getByRole('form', { name: 'create a key' });
    await create.getByLabel('Name').fill('console-made');
    await create.getByLabel('Actions').fill('clusters:List*');
    await create.getByRole('button', { name: 'Create key' }).click();
    const secret = (await create.getByRole('status', { name: 'secret key' }).textContent({ timeout: SHOWN_MS }))!.trim();
    const asKey = (key: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ clusters(first: 1) { edges { node { id } } } }' }),
      }).then((r) => r.json() as Promise<{ data?: unknown; errors?: Array<{ extensions: { code: string } }> }>);
    expect((await asKey(secret)).errors).toBeUndefined();
    const row = page.getByRole('table', { name: 'api keys' }).getByRole('row', { name: /console-made/ });
    expect(await row.textContent({ timeout: SHOWN_MS })).toMatch(/clusters:List\*/);
    await shot('keys');
    // shown once: the page opened again does not have it
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('link', { name: 'API keys' }).click();
    await row.waitFor({ timeout: SHOWN_MS });
    expect(await page.content()).not.toContain(secret);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached', timeout: SHOWN_MS });
    expect((await asKey(secret)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it("splits an alias's traffic between two versions with the slider, shows the function's charts and creates a trigger", async () => {
    await page.goto(`${server.url}#/functions/console-fn`);
    const publish = page.getByRole('form', { name: 'publish a version' });
    await publish.getByRole('button', { name: 'Publish version' }).click();
    await page.getByRole('listitem').filter({ hasText: /^1 / }).waitFor({ timeout: SHOWN_MS });
    // a second version needs a change: its memory
    await gql(`mutation { updateFunctionConfiguration(input: { functionName: "console-fn", memoryMb: 256 }) { function { name } } }`);
    await expect
      .poll(
        async () => {
          await publish.getByRole('button', { name: 'Publish version' }).click();
          return page.getByRole('listitem').filter({ hasText: /^2 / }).count();
        },
        { timeout: SHOWN_MS },
      )
      .toBe(1);
    const alias = page.getByRole('form', { name: 'create an alias' });
    await alias.getByLabel('Name').fill('live');
    await alias.getByLabel('Version').selectOption('1');
    await alias.getByRole('button', { name: 'Create alias' }).click();
    const split = page.getByRole('form', { name: 'traffic of live' });
    await split.getByLabel('second version', { exact: true }).selectOption('2');
    await split.getByLabel('share of the second version').fill('25');
    await split.getByRole('button', { name: 'Save' }).click();
    const routing = () =>
      gql(
        `{ function(name: "console-fn") { aliases { name functionVersion routing { additionalVersionWeights { version weight } } } } }`,
      ).then((d) => d.function.aliases);
    await expect
      .poll(routing, { timeout: SHOWN_MS })
      .toEqual([{ name: 'live', functionVersion: '1', routing: { additionalVersionWeights: [{ version: '2', weight: 0.25 }] } }]);
    // the invocations of the earlier case are on the chart (the figure says when it has none)
    const invocations = page.getByRole('figure', { name: 'Invocations' });
    await invocations.locator('canvas').waitFor({ timeout: SHOWN_MS });
    expect(await invocations.getByText('no data in this range').count()).toBe(0);
    expect(await page.getByRole('figure', { name: 'Duration' }).getByText('no data in this range').count()).toBe(0);
    await shot('function-alias-charts');

    await page.getByRole('link', { name: 'Triggers of console-fn' }).click();
    const create = page.getByRole('form', { name: 'create a trigger' });
    await create.getByLabel('Name').fill('console-tick');
    await create.getByLabel('Expression').fill('rate(1 day)');
    await create.getByRole('button', { name: 'Create trigger' }).click();
    const enabled = page.getByRole('checkbox', { name: 'console-tick enabled' });
    await enabled.waitFor({ timeout: SHOWN_MS });
    expect(await enabled.isChecked()).toBe(true);
    // the box follows the trigger as the API answers (a controlled input): click, then wait for both
    await enabled.click();
    await expect.poll(() => enabled.isChecked(), { timeout: SHOWN_MS }).toBe(false);
    await expect
      .poll(() => gql(`{ trigger(name: "console-tick") { enabled } }`).then((d) => d.trigger.enabled), { timeout: SHOWN_MS })
      .toBe(false);
    await shot('triggers');
  });
});
