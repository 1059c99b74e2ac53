// Two servers on one database (replicas sharing the data dir): what an invoke reads of a function
// is cached per server until a change is announced (NOTIFY), so a change made through one server
// reaches the other's invokes as soon as that server hears of it (milliseconds; the test polls
// for it): $LATEST's configuration and code, aliases and deletion. Nothing expires by time.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { deploy, invoke, INVOKE, UPDATE_CODE, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let a: TestServer;
let b: TestServer;
let runtimeDir: string;
beforeAll(async () => {
  a = await startTestServer();
  runtimeDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-fn-replica-'));
  b = await startTestServer({ databaseUrl: a.databaseUrl, dataDir: a.dataDir, adminApiKey: a.key, functionsRuntimeDir: runtimeDir });
});
afterAll(async () => {
  // b shares a's data dir: b stops its instances first, a removes the dir
  await b?.app.close({ stopAgents: true });
  await a?.close();
  await fs.rm(runtimeDir, { recursive: true, force: true });
});

const PUBLISH = `mutation($input: PublishVersionInput!) { publishVersion(input: $input) { version { version } } }`;
const CREATE_ALIAS = `mutation($input: CreateAliasInput!) { createAlias(input: $input) { alias { name } } }`;
const UPDATE_ALIAS = `mutation($input: UpdateAliasInput!) { updateAlias(input: $input) { alias { name } } }`;
const DELETE_FUNCTION = `mutation($name: String!) { deleteFunction(input: { functionName: $name }) { functionName } }`;
/** b's invokes until one satisfies `ok` (b has heard of the change) */
const onB = (input: Record<string, unknown>, ok: (r: any) => boolean, what: string) =>
  waitUntil(
    async () => {
      const r = await invoke(b, input);
      return ok(r) ? r : null;
    },
    `server b to see ${what}`,
    10_000,
    20,
  );
const code = (v: number) => ({
  files: [{ path: 'index.js', content: `exports.handler = async () => ({ v: ${v}, env: process.env.SETTING ?? null });` }],
});

describe('function changes across servers', () => {
  it('a change made through one server reaches the invokes of the other (NOTIFY), nothing expires by time', async () => {
    await deploy(a, { name: 'shared', runtime: 'NODEJS20', handler: 'index.handler', code: code(1), environment: { SETTING: 'one' } });
    expect((await invoke(b, { functionName: 'shared' })).payload).toEqual({ v: 1, env: 'one' });

    await a.data(UPDATE_CONFIG, { input: { functionName: 'shared', environment: { SETTING: 'two' } } });
    expect((await onB({ functionName: 'shared' }, (r) => r.payload.env === 'two', 'the new environment')).payload).toEqual({
      v: 1,
      env: 'two',
    });

    await a.data(UPDATE_CODE, { input: { functionName: 'shared', code: code(2) } });
    await waitForActive(a, 'shared');
    expect((await onB({ functionName: 'shared' }, (r) => r.payload.v === 2, 'the new code')).payload).toEqual({ v: 2, env: 'two' });

    // aliases: b resolves one, a moves it
    await a.data(PUBLISH, { input: { functionName: 'shared' } });
    await a.data(UPDATE_CODE, { input: { functionName: 'shared', code: code(3) } });
    await waitForActive(a, 'shared');
    await a.data(PUBLISH, { input: { functionName: 'shared' } });
    await a.data(CREATE_ALIAS, { input: { functionName: 'shared', name: 'live', functionVersion: '1' } });
    expect((await invoke(b, { functionName: 'shared', qualifier: 'live' })).payload.v).toBe(2);
    await a.data(UPDATE_ALIAS, { input: { functionName: 'shared', name: 'live', functionVersion: '2' } });
    const moved = await onB({ functionName: 'shared', qualifier: 'live' }, (r) => r.executedVersion === '2', 'the alias moved');
    expect(moved.payload.v).toBe(3);
    expect(moved.executedVersion).toBe('2');

    await a.data(DELETE_FUNCTION, { name: 'shared' });
    const gone = await waitUntil(
      async () => {
        const r = await b.gql(INVOKE, { input: { functionName: 'shared' } });
        return r.errors ? r : null;
      },
      'server b to see the deletion',
      10_000,
      20,
    );
    expectError(gone, 'NOT_FOUND', 'input.functionName');
  });
});
