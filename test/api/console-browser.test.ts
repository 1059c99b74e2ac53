// The web console in a real browser (Debian's chromium, driven by playwright-core) against a real
// server, offline beyond it: sign in (a wrong key is refused with the reason), a bad input shows
// the field's error, a cluster is created and reaches WAITING on its page without a reload, a step
// is added and its log streams in while its bar reaches 100%. Screenshots of the pages are saved in
// test-results/console/.
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
    let reloads = 0;
    page.on('load', () => reloads++);
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /from-the-console/ }).waitFor({ timeout: SHOWN_MS });
    const id = (await page.locator('p.mono').first().textContent())!;
    fixtures.cluster(id);
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
});
