// Versions, aliases with weighted routing, the function log (query and live subscription) and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, flatErrors } from '../support/api.js';
import { Subscription } from '../support/client.js';
import { deploy, GET_FUNCTION, invoke, INVOKE, UPDATE_CODE, waitForActive } from '../support/functions.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const PUBLISH = `mutation($input: PublishVersionInput!) { publishVersion(input: $input) { version { version codeSha256 description memoryMb createdAt } } }`;
const CREATE_ALIAS = `mutation($input: CreateAliasInput!) { createAlias(input: $input) { alias { name arn functionVersion routing { additionalVersionWeights { version weight } } } } }`;
const UPDATE_ALIAS = `mutation($input: UpdateAliasInput!) { updateAlias(input: $input) { alias { name functionVersion routing { additionalVersionWeights { version weight } } } } }`;
const DELETE_ALIAS = `mutation($input: DeleteAliasInput!) { deleteAlias(input: $input) { functionName name } }`;
const code = (v: number) => ({
  files: [
    {
      path: 'index.js',
      content: `exports.handler = async (e, ctx) => ({ v: ${v}, arn: ctx.invokedFunctionArn, version: ctx.functionVersion });`,
    },
  ],
});

describe('versions and aliases', () => {
  it('publishes snapshots; unchanged $LATEST gives back the same version; versions keep their code', async () => {
    await deploy(server, { name: 'ver', runtime: 'NODEJS20', handler: 'index.handler', code: code(1) });
    const v1 = (await server.data(PUBLISH, { input: { functionName: 'ver', description: 'first' } })).publishVersion.version;
    expect(v1.version).toBe('1');
    expect(v1.description).toBe('first');
    const again = (await server.data(PUBLISH, { input: { functionName: 'ver' } })).publishVersion.version;
    expect(again).toEqual(v1);
    await server.data(UPDATE_CODE, { input: { functionName: 'ver', code: code(2) } });
    await waitForActive(server, 'ver');
    expectError(await server.gql(PUBLISH, { input: { functionName: 'ver', codeSha256: v1.codeSha256 } }), 'CONFLICT', 'input.codeSha256');
    const v2 = (await server.data(PUBLISH, { input: { functionName: 'ver' } })).publishVersion.version;
    expect(v2.version).toBe('2');
    expect(v2.codeSha256).not.toBe(v1.codeSha256);

    const one = await invoke(server, { functionName: 'ver', qualifier: '1' });
    expect(one.payload).toEqual({ v: 1, arn: 'arn:aws:lambda:local:000000000000:function:ver:1', version: '1' });
    expect(one.executedVersion).toBe('1');
    expect((await invoke(server, { functionName: 'ver', qualifier: '2' })).payload.v).toBe(2);
    expect((await invoke(server, { functionName: 'ver' })).payload).toMatchObject({ v: 2, version: '$LATEST' });
    expectError(await server.gql(INVOKE, { input: { functionName: 'ver', qualifier: '3' } }), 'NOT_FOUND', 'input.qualifier');
    const fn = (await server.data(GET_FUNCTION, { name: 'ver' })).function;
    expect(fn.versions.map((v: any) => v.version)).toEqual(['1', '2']);
  });

  it('an alias splits traffic by weight (checked statistically) and reports the executed version', async () => {
    const alias = (
      await server.data(CREATE_ALIAS, {
        input: {
          functionName: 'ver',
          name: 'live',
          functionVersion: '1',
          routing: { additionalVersionWeights: [{ version: '2', weight: 0.3 }] },
        },
      })
    ).createAlias.alias;
    expect(alias).toEqual({
      name: 'live',
      arn: 'arn:aws:lambda:local:000000000000:function:ver:live',
      functionVersion: '1',
      routing: { additionalVersionWeights: [{ version: '2', weight: 0.3 }] },
    });
    const n = 400;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await invoke(server, { functionName: 'ver', qualifier: 'live' });
      expect(res.payload.v).toBe(Number(res.executedVersion));
      expect(res.invocation.qualifier).toBe('live');
      counts[res.executedVersion] = (counts[res.executedVersion] ?? 0) + 1;
    }
    // binomial(400, 0.3): mean 120, sd 9.2; ±5 sd fails by chance about once in 3 million runs
    expect(counts['1']! + counts['2']!).toBe(n);
    expect(Math.abs(counts['2']! - n * 0.3)).toBeLessThan(5 * Math.sqrt(n * 0.3 * 0.7));

    const moved = (
      await server.data(UPDATE_ALIAS, {
        input: { functionName: 'ver', name: 'live', functionVersion: '2', routing: { additionalVersionWeights: [] } },
      })
    ).updateAlias.alias;
    expect(moved).toEqual({ name: 'live', functionVersion: '2', routing: null });
    for (let i = 0; i < 5; i++) expect((await invoke(server, { functionName: 'ver', qualifier: 'live' })).executedVersion).toBe('2');
    const fn = (await server.data(GET_FUNCTION, { name: 'ver' })).function;
    expect(fn.aliases).toEqual([{ name: 'live', functionVersion: '2', routing: null }]);
  });

  it('validates aliases and their routing', async () => {
    const input = (extra: Record<string, unknown>) => ({ input: { functionName: 'ver', name: 'x', functionVersion: '1', ...extra } });
    const weights = (w: unknown[]) => ({ routing: { additionalVersionWeights: w } });
    expectError(await server.gql(CREATE_ALIAS, input({ name: '123' })), 'BAD_USER_INPUT', 'input.name');
    expectError(await server.gql(CREATE_ALIAS, input({ functionVersion: '9' })), 'NOT_FOUND', 'input.functionVersion');
    expectError(
      await server.gql(CREATE_ALIAS, input(weights([{ version: '2', weight: 1.5 }]))),
      'BAD_USER_INPUT',
      'input.routing.additionalVersionWeights.0.weight',
    );
    expectError(
      await server.gql(
        CREATE_ALIAS,
        input(
          weights([
            { version: '2', weight: 0.1 },
            { version: '1', weight: 0.1 },
          ]),
        ),
      ),
      'BAD_USER_INPUT',
      'input.routing.additionalVersionWeights',
    );
    expectError(
      await server.gql(CREATE_ALIAS, input(weights([{ version: '1', weight: 0.1 }]))),
      'BAD_USER_INPUT',
      'input.routing.additionalVersionWeights.0.version',
    );
    expectError(
      await server.gql(CREATE_ALIAS, input(weights([{ version: '$LATEST', weight: 0.1 }]))),
      'BAD_USER_INPUT',
      'input.routing.additionalVersionWeights.0.version',
    );
    expectError(await server.gql(CREATE_ALIAS, input({ name: 'live' })), 'CONFLICT', 'input.name');
    await server.data(CREATE_ALIAS, input({ name: 'tmp' }));
    expect((await server.data(DELETE_ALIAS, { input: { functionName: 'ver', name: 'tmp' } })).deleteAlias).toEqual({
      functionName: 'ver',
      name: 'tmp',
    });
    expectError(await server.gql(INVOKE, { input: { functionName: 'ver', qualifier: 'tmp' } }), 'NOT_FOUND', 'input.qualifier');
    expectError(await server.gql(DELETE_ALIAS, { input: { functionName: 'ver', name: 'tmp' } }), 'NOT_FOUND', 'input.name');
  });
});

describe('logs and metrics', () => {
  const LOGS = `subscription($name: String!, $after: String) { functionLogs(functionName: $name, after: $after) { cursor stream text } }`;

  it("functionLogs replays the function's log, then follows it live", async () => {
    await deploy(server, {
      name: 'talk',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: {
        files: [
          {
            path: 'index.js',
            content: `exports.handler = async (e) => { console.log('said', e.word); console.error('warned'); return e.word; };`,
          },
        ],
      },
    });
    const first = await invoke(server, { functionName: 'talk', payload: { word: 'one' } });
    const client = server.ws();
    try {
      const sub = new Subscription(client, LOGS, { name: 'talk' }, (d) => d.functionLogs);
      const replayed = await sub.waitFor(
        (v) => v.some((l) => l.text.startsWith(`REPORT RequestId: ${first.invocation.id}`)),
        'the first invocation replayed',
      );
      expect(replayed[0].text).toMatch(/^Function talk created: state Pending/);
      const second = await invoke(server, { functionName: 'talk', payload: { word: 'two' } });
      const lines = await sub.waitFor(
        (v) => v.some((l) => l.text.startsWith(`REPORT RequestId: ${second.invocation.id}`)),
        'the second invocation live',
      );
      const texts = lines.map((l) => l.text);
      const start = texts.indexOf(`START RequestId: ${second.invocation.id} Version: $LATEST`);
      expect(texts[start + 1]).toMatch(new RegExp(`\\t${second.invocation.id}\\tINFO\\tsaid two$`));
      expect(lines[start + 2]).toMatchObject({ stream: 'STDOUT' });
      expect(texts[start + 2]).toMatch(/\tERROR\twarned$/);
      expect(texts[start + 3]).toBe(`END RequestId: ${second.invocation.id}`);
      // cursors are dense: resuming after a line gives what followed it
      const resumed = new Subscription(client, LOGS, { name: 'talk', after: lines[start]!.cursor }, (d) => d.functionLogs);
      const again = await resumed.waitFor((v) => v.length >= 3, 'replay after the cursor');
      expect(again[0].text).toBe(texts[start + 1]);
      const unknown = new Subscription(client, LOGS, { name: 'nope' }, (d) => d.functionLogs);
      await unknown.waitForError();
      expect(flatErrors(unknown.errors).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      const page = await server.data(`query { function(name: "talk") { logs(first: 100) { edges { node { text } } } } }`);
      expect(page.function.logs.edges.map((e: any) => e.node.text)).toContain(`END RequestId: ${first.invocation.id}`);
      // from the end: the last lines and the count, as a page and as a subscription opened at its tail
      const all = (await server.data(`query { function(name: "talk") { logs(first: 100) { totalCount edges { cursor node { text } } } } }`))
        .function.logs;
      const end = (await server.data(`query { function(name: "talk") { logs(last: 2) { totalCount edges { cursor node { text } } } } }`))
        .function.logs;
      expect(end.totalCount).toBe(all.edges.length);
      expect(end.edges).toEqual(all.edges.slice(-2));
      expect(end.edges[1].node.text).toMatch(`REPORT RequestId: ${second.invocation.id}`);
      const tail = new Subscription(
        client,
        `subscription { functionLogs(functionName: "talk", tail: 2) { cursor text } }`,
        {},
        (d) => d.functionLogs,
      );
      const tailed = await tail.waitFor((v) => v.length >= 2, 'the last 2 lines');
      expect(tailed.map((l) => l.cursor)).toEqual(end.edges.map((e: any) => e.cursor));
    } finally {
      await client.dispose();
    }
  });

  it('reports invocations, errors, throttles, durations, cold starts and GB-seconds per period', async () => {
    const since = new Date(Date.now() - 60_000);
    await deploy(server, {
      name: 'metered',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      memoryMb: 1024,
      code: { files: [{ path: 'index.js', content: `exports.handler = async (e) => { if (e.fail) throw new Error('x'); return 1; };` }] },
    });
    for (let i = 0; i < 5; i++) await invoke(server, { functionName: 'metered' });
    await invoke(server, { functionName: 'metered', payload: { fail: true } });
    const until = new Date(Date.now() + 60_000);
    const q = `query($since: DateTime!, $until: DateTime!, $v: String) { functionMetrics(functionName: "metered", since: $since, until: $until, periodSeconds: 3600, version: $v) {
      timestamp invocations errors throttles durationAvg durationP50 durationP99 concurrentExecutionsMax coldStarts gbSeconds } }`;
    const [point, ...rest] = (await server.data(q, { since, until })).functionMetrics;
    expect(rest).toEqual([]);
    expect(point).toMatchObject({ invocations: 6, errors: 1, throttles: 0, coldStarts: 1, concurrentExecutionsMax: 1 });
    expect(new Date(point.timestamp).getTime()).toBe(since.getTime());
    expect(point.durationP50).toBeGreaterThan(0);
    expect(point.durationP99).toBeGreaterThanOrEqual(point.durationP50);
    const invs = (
      await server.data(`{ invocations(first: 100, filter: { functionName: "metered" }) { edges { node { billedDurationMs } } } }`)
    ).invocations.edges;
    const billed = invs.reduce((s: number, e: any) => s + e.node.billedDurationMs, 0);
    expect(point.gbSeconds).toBeCloseTo(billed / 1000, 6);
    expect((await server.data(q, { since, until, v: '7' })).functionMetrics).toEqual([]);
    expectError(await server.gql(q.replace('3600', '1'), { since: new Date(0), until }), 'BAD_USER_INPUT', 'periodSeconds');
  });
});
