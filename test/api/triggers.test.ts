// The Trigger resource: create / update / enable / disable / delete / list, validation with code and
// field, qualifiers (versions, aliases), deliveries, and what deleting the function does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages, expectError } from '../support/api.js';
import { deploy, DELETE_FUNCTION } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  CREATE_TRIGGER,
  createTrigger,
  DELETE_TRIGGER,
  deliveriesOf,
  DELIVERIES,
  GET_TRIGGER,
  LIST_TRIGGERS,
  SET_TRIGGER_ENABLED,
  UPDATE_TRIGGER,
  waitForDeliveries,
} from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.data(`mutation { createBucket(input: { name: "trig-crud" }) { bucket { name } } }`);
  await server.data(`mutation { createBucket(input: { name: "trig-other" }) { bucket { name } } }`);
});
afterAll(async () => {
  await server?.close();
});

const RECORDER = `exports.handler = async (event) => ({ received: event });`;
const node = (name: string, body = RECORDER, extra: Record<string, unknown> = {}, on = server) =>
  deploy(on, { name, runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: body }] }, ...extra });
const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { key } } }`;
const put = (bucket: string, key: string, on = server) => on.data(PUT, { input: { bucket, key, content: key } });
const keyOf = (d: any) => d.invocation.payload.Records[0].s3.object.key;
const BUCKET = { bucket: 'trig-crud', events: ['s3:ObjectCreated:*'] };

describe('createTrigger', () => {
  it('binds a bucket source to a function ($LATEST by default) and reads it back', async () => {
    await node('crud-fn');
    const t = await createTrigger(server, {
      name: 'crud-one',
      functionName: 'crud-fn',
      bucket: { ...BUCKET, prefix: 'in/', suffix: '.csv' },
    });
    expect(t).toMatchObject({
      id: expect.stringMatching(/^trg-/),
      name: 'crud-one',
      functionName: 'crud-fn',
      qualifier: '$LATEST',
      sourceType: 'BUCKET',
      enabled: true,
      config: { bucket: 'trig-crud', events: ['s3:ObjectCreated:*'], prefix: 'in/', suffix: '.csv' },
    });
    expect((await server.data(GET_TRIGGER, { name: 'crud-one' })).trigger).toEqual(t);
    const typed = `query($name: String!) { trigger(name: $name) { bucket { bucket events prefix suffix } clusterEvents { clusterId kinds states } } }`;
    expect((await server.data(typed, { name: 'crud-one' })).trigger).toEqual({
      bucket: { bucket: 'trig-crud', events: ['s3:ObjectCreated:*'], prefix: 'in/', suffix: '.csv' },
      clusterEvents: null,
    });
    await createTrigger(server, { name: 'crud-two', functionName: 'crud-fn', clusterEvents: { kinds: ['STEP'], states: ['COMPLETED'] } });
    expect((await server.data(typed, { name: 'crud-two' })).trigger).toEqual({
      bucket: null,
      clusterEvents: { clusterId: null, kinds: ['STEP'], states: ['COMPLETED'] },
    });
    expect((await server.data(GET_TRIGGER, { name: 'nope' })).trigger).toBeNull();
  });

  it('refuses a duplicate name (CONFLICT) and changes nothing', async () => {
    await node('dup-fn');
    await createTrigger(server, { name: 'dup', functionName: 'dup-fn', bucket: BUCKET });
    expectError(
      await server.gql(CREATE_TRIGGER, { input: { name: 'dup', functionName: 'dup-fn', clusterEvents: {} } }),
      'CONFLICT',
      'input.name',
    );
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
    await bad(
      { bucket: { ...BUCKET, events: ['s3:ObjectCreated:*', 's3:ObjectCreated:Post'] } },
      'BAD_USER_INPUT',
      'input.bucket.events[1]',
    );
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
    await server.data(
      `mutation { createAlias(input: { functionName: "qual-fn", name: "live", functionVersion: "1" }) { alias { name } } }`,
    );
    expect((await createTrigger(server, { name: 'qual-v', functionName: 'qual-fn', qualifier: '1', bucket: BUCKET })).qualifier).toBe('1');
    expect(
      (await createTrigger(server, { name: 'qual-a', functionName: 'qual-fn', qualifier: 'live', bucket: { ...BUCKET, prefix: 'q/' } }))
        .qualifier,
    ).toBe('live');
    // deliveries run what the qualifier names
    await put('trig-crud', 'q/1');
    const [viaAlias] = await waitForDeliveries(server, 'qual-a', 1);
    expect(viaAlias.invocation).toMatchObject({ status: 'SUCCEEDED', qualifier: 'live', executedVersion: '1' });
    // an alias deleted since: the delivery fails on the record, naming it
    await server.data(`mutation { deleteAlias(input: { functionName: "qual-fn", name: "live" }) { name } }`);
    await put('trig-crud', 'q/2');
    const gone = (await waitForDeliveries(server, 'qual-a', 2)).find((d) => keyOf(d) === 'q/2');
    expect(gone).toMatchObject({ status: 'FAILED', attempts: 0 });
    expect(gone.invocation).toMatchObject({
      errorType: 'ResourceNotFoundException',
      errorMessage: expect.stringContaining('qual-fn:live'),
    });
  });
});

describe('updateTrigger, setTriggerEnabled, deleteTrigger', () => {
  it('changes the source settings, function and qualifier; never the source type', async () => {
    await node('upd-fn');
    await node('upd-fn2');
    const t = await createTrigger(server, { name: 'upd', functionName: 'upd-fn', bucket: BUCKET });
    const u = (
      await server.data(UPDATE_TRIGGER, { input: { name: 'upd', bucket: { bucket: 'trig-other', events: ['s3:ObjectRemoved:Delete'] } } })
    ).updateTrigger.trigger;
    expect(u).toMatchObject({
      id: t.id,
      functionName: 'upd-fn',
      config: { bucket: 'trig-other', events: ['s3:ObjectRemoved:Delete'], prefix: '', suffix: '' },
    });
    expect(new Date(u.updatedAt).getTime()).toBeGreaterThan(new Date(t.updatedAt).getTime());
    const moved = (await server.data(UPDATE_TRIGGER, { input: { name: 'upd', functionName: 'upd-fn2' } })).updateTrigger.trigger;
    expect(moved).toMatchObject({ functionName: 'upd-fn2', qualifier: '$LATEST', config: u.config });
    expectError(
      await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', clusterEvents: { kinds: ['STEP'] } } }),
      'BAD_USER_INPUT',
      'input.clusterEvents',
    );
    expectError(await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', qualifier: 'nope' } }), 'NOT_FOUND', 'input.qualifier');
    expectError(
      await server.gql(UPDATE_TRIGGER, { input: { name: 'upd', bucket: { bucket: 'trig-other', events: ['s3:Nope'] } } }),
      'BAD_USER_INPUT',
      'input.bucket.events[0]',
    );
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
    const mine = await allPages((after) =>
      server.data(LIST_TRIGGERS, { first: 2, after, filter: { functionName: 'list-fn' } }).then((d) => d.triggers),
    );
    expect(mine.map((t: any) => t.name)).toEqual(['list-ce', 'list-2', 'list-1', 'list-0']);
    const buckets = await allPages((after) =>
      server.data(LIST_TRIGGERS, { first: 100, after, filter: { functionName: 'list-fn', sourceType: 'BUCKET' } }).then((d) => d.triggers),
    );
    expect(buckets.map((t: any) => t.name)).toEqual(['list-2', 'list-1', 'list-0']);
    const ce = mine.find((t: any) => t.name === 'list-ce');
    expect(ce.config).toEqual({ clusterId: null, kinds: ['CLUSTER', 'STEP'], states: [] });
    expectError(await server.gql(LIST_TRIGGERS, { filter: { functionName: 'nope-fn' } }), 'NOT_FOUND', 'filter.functionName');
  });
});

describe('deliveries', () => {
  it("are the trigger's invocations, newest first, paged; retried with backoff and recorded with their outcome; a failing function does not hold back another trigger of the same event", async () => {
    await node('dl-ok');
    await node('dl-fail', `exports.handler = async (e) => { throw new TypeError('bad ' + e.Records[0].s3.object.key); };`, {
      eventInvokeConfig: { maximumRetryAttempts: 1 },
    });
    await createTrigger(server, {
      name: 'dl-ok',
      functionName: 'dl-ok',
      bucket: { bucket: 'trig-other', events: ['s3:ObjectCreated:*'], prefix: 'dl/' },
    });
    await createTrigger(server, {
      name: 'dl-fail',
      functionName: 'dl-fail',
      bucket: { bucket: 'trig-other', events: ['s3:ObjectCreated:*'], prefix: 'dl/' },
    });
    for (const k of ['dl/1', 'dl/2', 'dl/3']) await put('trig-other', k);
    const ok = await waitForDeliveries(server, 'dl-ok', 3);
    expect(ok.every((d) => d.status === 'SUCCEEDED' && d.attempts === 1)).toBe(true);
    expect(new Set(ok.map(keyOf))).toEqual(new Set(['dl/1', 'dl/2', 'dl/3']));
    for (const d of ok) {
      expect(d.at).toBe(d.invocation.createdAt);
      expect(d.invocation).toMatchObject({ id: expect.any(String), functionName: 'dl-ok', invocationType: 'EVENT', status: 'SUCCEEDED' });
    }
    // newest first, paged
    const page1 = (await server.data(DELIVERIES, { name: 'dl-ok', first: 2 })).trigger.deliveries;
    const page2 = (await server.data(DELIVERIES, { name: 'dl-ok', first: 2, after: page1.pageInfo.endCursor })).trigger.deliveries;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...page1.edges, ...page2.edges].map((e: any) => e.node.invocation.id)).toEqual([...ok].reverse().map((d) => d.invocation.id));
    // the failing function's deliveries: the same events, retried once (its setting), then FAILED with the error
    const failed = await waitForDeliveries(server, 'dl-fail', 3);
    expect(new Set(failed.map((d) => d.eventId))).toEqual(new Set(ok.map((d) => d.eventId)));
    for (const d of failed) {
      expect(d).toMatchObject({ status: 'FAILED', attempts: 2 });
      expect(d.invocation).toMatchObject({ errorType: 'TypeError', errorMessage: `bad ${keyOf(d)}`, functionError: 'Unhandled' });
      expect(d.invocation.logs.filter((l: any) => l.text.startsWith('START ')).length).toBe(2);
    }
    expectError(await server.gql(DELIVERIES, { name: 'dl-ok', after: 'garbage!' }), 'BAD_USER_INPUT', 'after');
  });

  it("a function whose events all hang until their timeout does not keep another function's events waiting", async () => {
    // two async slots on this server: without a per-function share, the hanging function takes both
    const small = await startTestServer({ functionAsyncParallel: 2 });
    try {
      await small.data(`mutation { createBucket(input: { name: "hol" }) { bucket { name } } }`);
      await node(
        'hang',
        `exports.handler = () => new Promise(() => { setInterval(() => {}, 1000); });`,
        { timeoutSeconds: 3, eventInvokeConfig: { maximumRetryAttempts: 0 } },
        small,
      );
      await node('quick', RECORDER, {}, small);
      await createTrigger(small, {
        name: 'hang',
        functionName: 'hang',
        bucket: { bucket: 'hol', events: ['s3:ObjectCreated:*'], prefix: 'hang/' },
      });
      await createTrigger(small, {
        name: 'quick',
        functionName: 'quick',
        bucket: { bucket: 'hol', events: ['s3:ObjectCreated:*'], prefix: 'quick/' },
      });
      for (const k of ['hang/1', 'hang/2', 'hang/3']) await put('hol', k, small);
      await waitUntil(async () => (await deliveriesOf(small, 'hang')).some((d) => d.status === 'RUNNING'), 'a hanging delivery to run');
      await put('hol', 'quick/1', small);
      const [quick] = await waitForDeliveries(small, 'quick', 1);
      expect(quick.status).toBe('SUCCEEDED');
      const settled = await waitForDeliveries(small, 'hang', 3, 30_000);
      expect(settled.map((d) => d.invocation.errorType)).toEqual(['Sandbox.Timedout', 'Sandbox.Timedout', 'Sandbox.Timedout']);
      // it started while the hanging function's events held their slot: before the first of them timed out
      // (holding both slots, they would have kept it waiting until then)
      const firstTimeout = Math.min(...settled.map((d) => Date.parse(d.invocation.endedAt)));
      expect(Date.parse(quick.invocation.startedAt)).toBeLessThan(firstTimeout);
    } finally {
      await small.close();
    }
  });
});
