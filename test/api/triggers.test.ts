// The Trigger resource: create / update / enable / disable / delete / list, validation with code and
// field, qualifiers (versions, aliases), deliveries, and what deleting the function does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages, expectError } from '../support/api.js';
import { deploy, DELETE_FUNCTION } from '../support/functions.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  CREATE_TRIGGER, createTrigger, DELETE_TRIGGER, GET_TRIGGER, LIST_TRIGGERS, SET_TRIGGER_ENABLED, UPDATE_TRIGGER,
} from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.data(`mutation { createBucket(input: { name: "trig-crud" }) { bucket { name } } }`);
  await server.data(`mutation { createBucket(input: { name: "trig-other" }) { bucket { name } } }`);
});
afterAll(async () => { await server?.close(); });

const RECORDER = `exports.handler = async (event) => ({ received: event });`;
const node = (name: string) => deploy(server, { name, runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: RECORDER }] } });
const BUCKET = { bucket: 'trig-crud', events: ['s3:ObjectCreated:*'] };

describe('createTrigger', () => {
  it('binds a bucket source to a function ($LATEST by default) and reads it back', async () => {
    await node('crud-fn');
    const t = await createTrigger(server, { name: 'crud-one', functionName: 'crud-fn', bucket: { ...BUCKET, prefix: 'in/', suffix: '.csv' } });
    expect(t).toMatchObject({
      id: expect.stringMatching(/^trg-/), name: 'crud-one', functionName: 'crud-fn', qualifier: '$LATEST', sourceType: 'BUCKET', enabled: true,
      config: { bucket: 'trig-crud', events: ['s3:ObjectCreated:*'], prefix: 'in/', suffix: '.csv' },
    });
    expect((await server.data(GET_TRIGGER, { name: 'crud-one' })).trigger).toEqual(t);
    expect((await server.data(GET_TRIGGER, { name: 'nope' })).trigger).toBeNull();
  });

  it('refuses a duplicate name (CONFLICT) and changes nothing', async () => {
    await node('dup-fn');
    await createTrigger(server, { name: 'dup', functionName: 'dup-fn', bucket: BUCKET });
    expectError(await server.gql(CREATE_TRIGGER, { input: { name: 'dup', functionName: 'dup-fn', clusterEvents: {} } }), 'CONFLICT', 'input.name');
    expect((await server.data(GET_TRIGGER, { name: 'dup' })).trigger.sourceType).toBe('BUCKET');
  });

  it('needs exactly one source, a valid name and an existing function', async () => {
    await node('val-fn');
    const bad = async (input: Record<string, unknown>, code: string, field: string) =>
      expectError(await server.gql(CREATE_TRIGGER, { input: { name: 'val', functionName: 'val-fn', ...input } }), code, field);
    await bad({}, 'BAD_USER_INPUT', 'input');
    await bad({ bucket: BUCKET, clusterEvents: {} }, 'BAD_USER_INPUT', 'input');
    await bad({ name: 'has space', bucket: BUCKET }, 'BAD_USER_INPUT', 'input.name');
    await bad({ name: 'x'.repeat(65), bucket: BUCKET }, 'BAD_USER_INPUT', 'input.name');
    await bad({ functionName: 'missing-fn', bucket: BUCKET }, 'NOT_FOUND', 'input.functionName');
    await bad({ bucket: { ...BUCKET, bucket: 'no-such-bucket' } }, 'NOT_FOUND', 'input.bucket.bucket');
    await bad({ bucket: { ...BUCKET, bucket: 'Bad_Name' } }, 'BAD_USER_INPUT', 'input.bucket.bucket');
    await bad({ bucket: { ...BUCKET, events: [] } }, 'BAD_USER_INPUT', 'input.bucket.events');
    await bad({ bucket: { ...BUCKET, events: ['s3:ObjectCreated:*', 's3:ObjectCreated:Copy'] } }, 'BAD_USER_INPUT', 'input.bucket.events[1]');
    await bad({ bucket: { ...BUCKET, events: ['s3:ObjectRemoved:*', 's3:ObjectRemoved:*'] } }, 'BAD_USER_INPUT', 'input.bucket.events[1]');
    await bad({ bucket: { ...BUCKET, prefix: '/abs' } }, 'BAD_USER_INPUT', 'input.bucket.prefix');
    await bad({ clusterEvents: { kinds: ['STEP'], states: ['WAITING'] } }, 'BAD_USER_INPUT', 'input.clusterEvents.states[0]');
    await bad({ clusterEvents: { clusterId: 'j-NOPE' } }, 'NOT_FOUND', 'input.clusterEvents.clusterId');
    await bad({ qualifier: '7', bucket: BUCKET }, 'NOT_FOUND', 'input.qualifier');
    await bad({ qualifier: 'live', bucket: BUCKET }, 'NOT_FOUND', 'input.qualifier');
    await bad({ qualifier: 'a b', bucket: BUCKET }, 'BAD_USER_INPUT', 'input.qualifier');
    expect((await server.data(GET_TRIGGER, { name: 'val' })).trigger).toBeNull();
  });

  it('accepts a published version or an alias as the qualifier', async () => {
    await node('qual-fn');
    await server.data(`mutation { publishVersion(input: { functionName: "qual-fn" }) { version { version } } }`);
    await server.data(`mutation { createAlias(input: { functionName: "qual-fn", name: "live", functionVersion: "1" }) { alias { name } } }`);
    expect((await createTrigger(server, { name: 'qual-v', functionName: 'qual-fn', qualifier: '1', bucket: BUCKET })).qualifier).toBe('1');
    expect((await createTrigger(server, { name: 'qual-a', functionName: 'qual-fn', qualifier: 'live', bucket: BUCKET })).qualifier).toBe('live');
  });
});

describe('updateTrigger, setTriggerEnabled, deleteTrigger', () => {
  it('changes the source settings, function and qualifier; never the source type', async () => {
    await node('upd-fn');
    await node('upd-fn2');
    const t = await createTrigger(server, { name: 'upd', functionName: 'upd-fn', bucket: BUCKET });
    const u = (await server.data(UPDATE_TRIGGER, { input: { name: 'upd', bucket: { bucket: 'trig-other', events: ['s3:ObjectRemoved:Delete'] } } })).updateTrigger.trigger;
    expect(u).toMatchObject({ id: t.id, functionName: 'upd-fn', config: { bucket: 'trig-other', events: ['s3:ObjectRemoved:Delete'], prefix: '', suffix: '' } });
    expect(new Date(u.updatedAt).getTime()).toBeGreaterThan(new Date(t.updatedAt).getTime());
    const moved = (await server.data(UPDATE_TRIGGER, { input: { name: 'upd', functionName: 'upd-fn2' } })).updateTrigger.trigger;
    expect(moved).toMatchObject({ functionName: 'upd-fn2', qualifier: '$LATEST', config: u.config });
    expectError(await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', clusterEvents: { kinds: ['STEP'] } } }), 'BAD_USER_INPUT', 'input.clusterEvents');
    expectError(await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', qualifier: 'nope' } }), 'NOT_FOUND', 'input.qualifier');
    expectError(await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', bucket: { bucket: 'trig-other', events: ['s3:Nope'] } } }), 'BAD_USER_INPUT', 'input.bucket.events[0]');
    expectError(await server.gql(UPDATE_TRIGGER, { input: { name: 'missing' } }), 'NOT_FOUND', 'input.name');
    expect((await server.data(GET_TRIGGER, { name: 'upd' })).trigger).toEqual(moved);
  });

  it('disables and enables; deletes (returning the trigger as it was)', async () => {
    await node('en-fn');
    await createTrigger(server, { name: 'en', functionName: 'en-fn', bucket: BUCKET });
    expect((await server.data(SET_TRIGGER_ENABLED, { name: 'en', enabled: false })).setTriggerEnabled.trigger.enabled).toBe(false);
    expect((await server.data(GET_TRIGGER, { name: 'en' })).trigger.enabled).toBe(false);
    expect((await server.data(SET_TRIGGER_ENABLED, { name: 'en', enabled: true })).setTriggerEnabled.trigger.enabled).toBe(true);
    expectError(await server.gql(SET_TRIGGER_ENABLED, { name: 'missing', enabled: true }), 'NOT_FOUND', 'input.name');
    const gone = (await server.data(DELETE_TRIGGER, { name: 'en' })).deleteTrigger.trigger;
    expect(gone).toMatchObject({ name: 'en', functionName: 'en-fn', enabled: true });
    expect((await server.data(GET_TRIGGER, { name: 'en' })).trigger).toBeNull();
    expectError(await server.gql(DELETE_TRIGGER, { name: 'en' }), 'NOT_FOUND', 'input.name');
  });

  it('deleting a function deletes its triggers', async () => {
    await node('casc-fn');
    await createTrigger(server, { name: 'casc-1', functionName: 'casc-fn', bucket: BUCKET });
    await createTrigger(server, { name: 'casc-2', functionName: 'casc-fn', clusterEvents: { kinds: ['STEP'], states: ['COMPLETED'] } });
    await server.data(DELETE_FUNCTION, { name: 'casc-fn' });
    expect((await server.data(GET_TRIGGER, { name: 'casc-1' })).trigger).toBeNull();
    expect((await server.data(GET_TRIGGER, { name: 'casc-2' })).trigger).toBeNull();
  });
});

describe('triggers', () => {
  it('lists newest first, pages, and filters by source type and function', async () => {
    await node('list-fn');
    for (let i = 0; i < 3; i++) await createTrigger(server, { name: `list-${i}`, functionName: 'list-fn', bucket: BUCKET });
    await createTrigger(server, { name: 'list-ce', functionName: 'list-fn', clusterEvents: {} });
    const mine = await allPages((after) => server.data(LIST_TRIGGERS, { first: 2, after, filter: { functionName: 'list-fn' } }).then((d) => d.triggers));
    expect(mine.map((t: any) => t.name)).toEqual(['list-ce', 'list-2', 'list-1', 'list-0']);
    const buckets = await allPages((after) => server.data(LIST_TRIGGERS, { first: 100, after, filter: { functionName: 'list-fn', sourceType: 'BUCKET' } }).then((d) => d.triggers));
    expect(buckets.map((t: any) => t.name)).toEqual(['list-2', 'list-1', 'list-0']);
    const ce = mine.find((t: any) => t.name === 'list-ce');
    expect(ce.config).toEqual({ clusterId: null, kinds: ['CLUSTER', 'STEP'], states: [] });
    expectError(await server.gql(LIST_TRIGGERS, { filter: { functionName: 'nope-fn' } }), 'NOT_FOUND', 'filter.functionName');
  });
});
