// The GraphQL explorer in a real browser (Debian's chromium, driven by playwright-core): GraphiQL
// renders from the server's own bundle with the network cut off beyond the server, a query runs
// over HTTP and a subscription over graphql-ws, both with the key from the headers editor.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI === 'true') throw new Error(`chromium is required under CI=true (${CHROMIUM}; apt-get install -y chromium)`);
  console.warn(`Skipping the explorer browser test: no ${CHROMIUM} (apt-get install -y chromium)`);
}

describe.skipIf(!available)('the GraphiQL explorer in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function run(query: string): Promise<string> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const origin = new URL(server.url).origin;
      const offsite: string[] = [];
      // offline: anything not served by this server fails (and is noted)
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith(origin.replace(/^http/, 'ws'))) return route.continue();
        offsite.push(url);
        return route.abort();
      });
      // what a user types into the headers and query editors, as GraphiQL keeps them
      await page.addInitScript(
        ([key, q]) => {
          const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage;
          storage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${key}` }));
          storage.setItem('graphiql:query', q);
        },
        [server.key, query] as const,
      );
      await page.goto(`${server.url}/graphql`);
      await page.locator('.graphiql-execute-button').click();
      const result = page.locator('.result-window');
      await result
        .locator('.CodeMirror-code')
        .filter({ hasText: /"(data|errors)"/ })
        .waitFor();
      expect(offsite).toEqual([]);
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText() (the text as shown), not the DOM property
      return await result.innerText();
    } finally {
      await context.close();
    }
  }

  it('runs a query over HTTP with the key from the headers editor', async () => {
    expect(await run('{ instanceTypes { name } }')).toContain('m5.large');
  });

  it('runs a subscription over graphql-ws with the same key (an unknown stream: NOT_FOUND, not a 4403 close)', async () => {
    const text = await run('subscription { logs(streamId: "ls-none") { text } }');
    expect(text).toContain('NOT_FOUND');
  });
});
