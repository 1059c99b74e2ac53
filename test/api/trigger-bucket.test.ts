// BUCKET triggers: S3 event notifications from every upload path (GraphQL putObject, HTTP PUT,
// step outputs written back), removals, prefix/suffix filters, S3's record shape, each event once.
import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, Fixtures, MASTER, waitForClusterState, waitForStepState } from '../support/api.js';
import { deploy } from '../support/functions.js';
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { objectRequest } from '../support/objects.js';
import { createS3Key, sdkClient } from '../support/s3.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createTrigger, deliveriesOf, SET_TRIGGER_ENABLED, waitForDeliveries } from '../support/triggers.js';

let server: TestServer;
const fixtures = new Fixtures();
beforeAll(async () => {
  server = await startTestServer();
  await deploy(server, {
    name: 'bkt-rec',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: RECORDER }] },
  });
});
afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

const RECORDER = `exports.handler = async (event) => ({ received: event });`;
/** The fields of S3's record model no event here has: versions, restores, Intelligent-Tiering, Powertools' get_object. */
const S3_ABSENT = [
  'Records[].glacierEventData',
  'Records[].intelligentTieringEventData',
  'Records[].s3.get_object',
  'Records[].s3.object.versionId',
];
const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { key size etag } } }`;
const DELETE_OBJECT = `mutation($bucket: String!, $key: String!) { deleteObject(input: { bucket: $bucket, key: $key }) { deleted } }`;
const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

const createBucket = (name: string) =>
  server.data(`mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`, { name });
const put = (bucket: string, key: string, content: string) => server.data(PUT, { input: { bucket, key, content } });
const bySequencer = (a: any, b: any) => (a.eventId < b.eventId ? -1 : 1);
/** Deliveries in the order of their events (one dispatch batch's deliveries share a time: the sequencer orders them). */
const delivered = async (name: string, count: number) => (await waitForDeliveries(server, name, count)).sort(bySequencer);
const keyOf = (d: any) => decodeURIComponent(d.invocation.payload.Records[0].s3.object.key.replace(/\+/g, ' '));

/**
 * Events are dispatched in commit order here (one server): once a catch-all trigger has delivered
 * the sentinel object written last, every earlier event of the bucket has been dispatched.
 */
async function settle(bucket: string, catchAll: string): Promise<void> {
  const key = `zz-sentinel-${crypto.randomUUID()}`;
  await put(bucket, key, 's');
  await waitUntil(async () => (await deliveriesOf(server, catchAll)).some((d) => keyOf(d) === key), `the sentinel ${key} to be delivered`);
}

describe('BUCKET triggers', () => {
  it('GraphQL putObject and HTTP PUT each deliver one S3 record to the function, filtered by prefix and suffix', async () => {
    await createBucket('tb-up');
    await createTrigger(server, { name: 'tb-all', functionName: 'bkt-rec', bucket: { bucket: 'tb-up', events: ['s3:ObjectCreated:*'] } });
    await createTrigger(server, {
      name: 'tb-csv',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-up', events: ['s3:ObjectCreated:Put'], prefix: 'in/', suffix: '.csv' },
    });
    const created = (await put('tb-up', 'in/a b(1).csv', 'x,y\n1,2\n')).putObject.object;
    const http = await objectRequest(server.url, 'PUT', '/objects/tb-up/in/http.csv', { key: server.key, body: 'from http' });
    expect(http.status).toBe(200);
    await put('tb-up', 'in/skipped.txt', 'wrong suffix');
    await put('tb-up', 'out/skipped.csv', 'wrong prefix');
    await settle('tb-up', 'tb-all');

    const csv = await delivered('tb-csv', 2);
    expect(csv.map(keyOf)).toEqual(['in/a b(1).csv', 'in/http.csv']);
    const [first, second] = csv;
    expect(first.status).toBe('SUCCEEDED');
    expect(first.attempts).toBe(1);
    const record = first.invocation.payload.Records[0];
    expect(first.invocation.payload.Records).toHaveLength(1);
    expect(record).toEqual({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'local',
      eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: '000000000000' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': record.s3.object.sequencer, 'x-amz-id-2': expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'tb-csv',
        bucket: { name: 'tb-up', ownerIdentity: { principalId: '000000000000' }, arn: 'arn:aws:s3:::tb-up' },
        object: {
          key: 'in/a+b%281%29.csv',
          size: created.size,
          eTag: md5('x,y\n1,2\n'),
          sequencer: expect.stringMatching(/^[0-9A-F]{16}$/),
        },
      },
    });
    // the function received exactly that event, and it is S3's as AWS's published model has it: every
    // field but those of versioned buckets, restores and Intelligent-Tiering (and Powertools' get_object)
    expect(first.invocation.response).toEqual({ received: first.invocation.payload });
    expect(await checkAwsEvent('S3Model', first.invocation.response.received)).toEqual({ error: null, missing: S3_ABSENT });
    expect(first.eventId).toBe(record.s3.object.sequencer);
    expect(first.invocation).toMatchObject({ functionName: 'bkt-rec', invocationType: 'EVENT', qualifier: '$LATEST' });
    // sequencers order the events
    expect(second.eventId > first.eventId).toBe(true);
    expect(second.invocation.payload.Records[0].s3.object).toMatchObject({ key: 'in/http.csv', size: 9, eTag: md5('from http') });

    // the catch-all saw every object once (the 4 puts and the sentinel), with the same event ids
    const all = await delivered('tb-all', 5);
    expect(all.map(keyOf)).toEqual([
      'in/a b(1).csv',
      'in/http.csv',
      'in/skipped.txt',
      'out/skipped.csv',
      expect.stringMatching(/^zz-sentinel-/),
    ]);
    expect(all[0].eventId).toBe(first.eventId);
    expect(all[0].invocation.payload.Records[0].s3.configurationId).toBe('tb-all');
  });

  it('an overwrite is another event; removals deliver ObjectRemoved:Delete (key and sequencer only), a forced bucket delete one per object', async () => {
    await createBucket('tb-rm');
    await createTrigger(server, {
      name: 'tb-rm-all',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-rm', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
    });
    await createTrigger(server, {
      name: 'tb-rm-del',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-rm', events: ['s3:ObjectRemoved:Delete'], prefix: 'k' },
    });
    await put('tb-rm', 'k1', 'one');
    await put('tb-rm', 'k1', 'uno');
    await put('tb-rm', 'k2', 'two');
    expect((await server.data(DELETE_OBJECT, { bucket: 'tb-rm', key: 'k1' })).deleteObject.deleted).toBe(true);
    // deleting what is not there changes nothing: no event
    expect((await server.data(DELETE_OBJECT, { bucket: 'tb-rm', key: 'k1' })).deleteObject.deleted).toBe(false);
    await settle('tb-rm', 'tb-rm-all');
    await server.data(`mutation { deleteBucket(input: { name: "tb-rm", force: true }) { deletedObjects } }`);

    const all = await delivered('tb-rm-all', 7);
    expect(all.map((d) => [d.invocation.payload.Records[0].eventName, keyOf(d)])).toEqual([
      ['ObjectCreated:Put', 'k1'],
      ['ObjectCreated:Put', 'k1'],
      ['ObjectCreated:Put', 'k2'],
      ['ObjectRemoved:Delete', 'k1'],
      ['ObjectCreated:Put', expect.stringMatching(/^zz-sentinel-/)],
      ['ObjectRemoved:Delete', 'k2'],
      ['ObjectRemoved:Delete', expect.stringMatching(/^zz-sentinel-/)],
    ]);
    expect(all[1].invocation.payload.Records[0].s3.object.eTag).toBe(md5('uno'));
    const dels = await delivered('tb-rm-del', 2);
    expect(dels.map(keyOf)).toEqual(['k1', 'k2']);
    expect(dels[0].invocation.payload.Records[0].s3.object).toEqual({ key: 'k1', sequencer: expect.stringMatching(/^[0-9A-F]{16}$/) });
    expect(await checkAwsEvent('S3Model', dels[0].invocation.response.received)).toEqual({
      error: null,
      missing: [...S3_ABSENT, 'Records[].s3.object.eTag', 'Records[].s3.object.size'].sort(),
    });
  });

  it("a step's output written back fires once", async () => {
    await createBucket('tb-steps');
    await createTrigger(server, {
      name: 'tb-step-out',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-steps', events: ['s3:ObjectCreated:*'] },
    });
    const c = await server.data(CREATE_CLUSTER, { input: { name: 'trig-sql', applications: ['DUCKDB'], instanceGroups: [MASTER] } });
    const clusterId = fixtures.cluster(c.createCluster.cluster.id);
    await waitForClusterState(server, clusterId, ['WAITING']);
    const added = await server.data(`mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`, {
      input: {
        clusterId,
        steps: [{ name: 'out', sql: { query: 'SELECT 42 AS answer', outputUri: 's3://tb-steps/result.csv', format: 'CSV' } }],
      },
    });
    const step = await waitForStepState(server, added.addSteps.steps[0].id, ['COMPLETED', 'FAILED'], { timeoutMs: 60_000 });
    expect(step.state).toBe('COMPLETED');
    await settle('tb-steps', 'tb-step-out');
    const list = await delivered('tb-step-out', 2);
    expect(list.map(keyOf)).toEqual(['result.csv', expect.stringMatching(/^zz-sentinel-/)]);
    const object = (await server.data(`query { object(bucket: "tb-steps", key: "result.csv") { size etag } }`)).object;
    expect(list[0].invocation.payload.Records[0].s3.object).toMatchObject({
      key: 'result.csv',
      size: object.size,
      eTag: object.etag.replace(/"/g, ''),
    });
  });

  it('a disabled trigger delivers nothing, and the events it missed are not delivered when it is enabled again', async () => {
    await createBucket('tb-off');
    await createTrigger(server, {
      name: 'tb-off-all',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-off', events: ['s3:ObjectCreated:*'] },
    });
    await createTrigger(server, {
      name: 'tb-off',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-off', events: ['s3:ObjectCreated:*'], prefix: 'a' },
    });
    await server.data(SET_TRIGGER_ENABLED, { name: 'tb-off', enabled: false });
    await put('tb-off', 'a-while-off', '1');
    await settle('tb-off', 'tb-off-all');
    await server.data(SET_TRIGGER_ENABLED, { name: 'tb-off', enabled: true });
    await settle('tb-off', 'tb-off-all');
    expect(await deliveriesOf(server, 'tb-off')).toEqual([]);
    await put('tb-off', 'a-after', '2');
    await settle('tb-off', 'tb-off-all');
    expect((await delivered('tb-off', 1)).map(keyOf)).toEqual(['a-after']);
  });

  it('a delivery that cannot be queued is a FAILED delivery on the record, and holds up neither other triggers nor later events', async () => {
    await createBucket('tb-poison');
    await createTrigger(server, {
      name: 'tb-healthy',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-poison', events: ['s3:ObjectCreated:*'] },
    });
    const refused = await createTrigger(server, {
      name: 'tb-refused',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-poison', events: ['s3:ObjectCreated:*'] },
    });
    const stale = await createTrigger(server, {
      name: 'tb-stale',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-poison', events: ['s3:ObjectCreated:*'] },
    });
    const db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      // the database refuses every queued delivery of one trigger; another's stored config is one
      // the code cannot read (as a config written by another version would be)
      await db.unsafe(`create function refuse_delivery() returns trigger language plpgsql as $$ begin
        if new.trigger_id = '${refused.id}' and new.status = 'QUEUED' then raise exception 'refused by the test'; end if;
        return new; end $$`);
      await db.unsafe('create trigger refuse_delivery before insert on invocations for each row execute function refuse_delivery()');
      await db`update triggers set config = ${db.json({ bucket: 'tb-poison' })} where id = ${stale.id}`;

      await put('tb-poison', 'a.txt', '1');
      await put('tb-poison', 'b.txt', '2');
      const healthy = await delivered('tb-healthy', 2);
      expect(healthy.map((d) => [keyOf(d), d.status, d.attempts])).toEqual([
        ['a.txt', 'SUCCEEDED', 1],
        ['b.txt', 'SUCCEEDED', 1],
      ]);
      // the same events, with the same ids, failed for the other two, with why
      const ids = healthy.map((d) => d.eventId);
      const failedOf = async (name: string) =>
        (await delivered(name, 2)).map((d) => ({
          eventId: d.eventId,
          status: d.status,
          attempts: d.attempts,
          errorType: d.invocation.errorType,
          errorMessage: d.invocation.errorMessage,
        }));
      const failure = (eventId: string, errorMessage: string) => ({
        eventId,
        status: 'FAILED',
        attempts: 0,
        errorType: 'TriggerDeliveryError',
        errorMessage,
      });
      expect(await failedOf('tb-refused')).toEqual(ids.map((id) => failure(id, 'refused by the test')));
      // the code's fault: the record says where to look, not the code's internals
      expect(await failedOf('tb-stale')).toEqual(
        ids.map((id) => failure(id, `internal error while queuing the delivery; the server's log has it under eventId ${id}`)),
      );
      expect((await delivered('tb-refused', 2)).map(keyOf)).toEqual(['a.txt', 'b.txt']);
      expect((await db`select count(*)::int as n from trigger_outbox`)[0]!.n).toBe(0);
    } finally {
      await db.unsafe('drop trigger if exists refuse_delivery on invocations; drop function if exists refuse_delivery()');
      await db.end();
    }
  });

  it('with two servers dispatching the same outbox, each of many concurrent uploads is delivered once', async () => {
    // the second server dispatches but runs no async invocations (no slots): the first runs them
    const second = await startTestServer({ databaseUrl: server.databaseUrl, functionAsyncParallel: 0 });
    try {
      await createBucket('tb-two');
      await createTrigger(server, {
        name: 'tb-two',
        functionName: 'bkt-rec',
        bucket: { bucket: 'tb-two', events: ['s3:ObjectCreated:*'] },
      });
      const keys = Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      for (let i = 0; i < keys.length; i += 10) await Promise.all(keys.slice(i, i + 10).map((k) => put('tb-two', k, k)));
      await settle('tb-two', 'tb-two');
      const all = await delivered('tb-two', 61);
      expect(all.map(keyOf).slice(0, -1).sort()).toEqual(keys);
      expect(new Set(all.map((d) => d.eventId)).size).toBe(61);
      expect(all.every((d) => d.status === 'SUCCEEDED')).toBe(true);
    } finally {
      await second.close();
    }
  });
});

describe('BUCKET triggers and the S3 endpoint', () => {
  it('PutObject and DeleteObject through S3 deliver ObjectCreated:Put and ObjectRemoved:Delete, like every other write', async () => {
    await createBucket('tb-s3');
    await createTrigger(server, {
      name: 'tb-s3-all',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-s3', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
    });
    const s3 = sdkClient(server, await createS3Key(server, 'tb-s3-writer', ['buckets:PutObject', 'buckets:DeleteObject']));
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'tb-s3', Key: 'in/from-s3.csv', Body: 'a,b\n' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'tb-s3', Key: 'in/from-s3.csv' }));
    } finally {
      s3.destroy();
    }
    const records = (await delivered('tb-s3-all', 2)).map((d) => d.invocation.payload.Records[0]);
    expect(records.map((r: any) => [r.eventName, r.s3.object.key])).toEqual([
      ['ObjectCreated:Put', 'in/from-s3.csv'],
      ['ObjectRemoved:Delete', 'in/from-s3.csv'],
    ]);
    expect(records[0].s3.object).toMatchObject({ size: 4, eTag: md5('a,b\n') });
  });

  it('CopyObject delivers ObjectCreated:Copy (to a Copy-only trigger too); DeleteObjects one ObjectRemoved:Delete per deleted key', async () => {
    await createBucket('tb-s3-copy');
    await createTrigger(server, {
      name: 'tb-s3-copy-all',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-s3-copy', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
    });
    await createTrigger(server, {
      name: 'tb-s3-copy-only',
      functionName: 'bkt-rec',
      bucket: { bucket: 'tb-s3-copy', events: ['s3:ObjectCreated:Copy'] },
    });
    const s3 = sdkClient(
      server,
      await createS3Key(server, 'tb-s3-copier', ['buckets:GetObject', 'buckets:PutObject', 'buckets:DeleteObject']),
    );
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'tb-s3-copy', Key: 'src', Body: 'copy me' }));
      await s3.send(new CopyObjectCommand({ Bucket: 'tb-s3-copy', Key: 'dst', CopySource: 'tb-s3-copy/src' }));
      await s3.send(
        new DeleteObjectsCommand({ Bucket: 'tb-s3-copy', Delete: { Objects: [{ Key: 'src' }, { Key: 'dst' }, { Key: 'never-was' }] } }),
      );
    } finally {
      s3.destroy();
    }
    const records = (await delivered('tb-s3-copy-all', 4)).map((d) => d.invocation.payload.Records[0]);
    expect(records.map((r: any) => [r.eventName, r.s3.object.key])).toEqual([
      ['ObjectCreated:Put', 'src'],
      ['ObjectCreated:Copy', 'dst'],
      ['ObjectRemoved:Delete', 'src'],
      ['ObjectRemoved:Delete', 'dst'],
    ]);
    expect(records[1].s3.object).toMatchObject({ size: 7, eTag: md5('copy me') });
    await settle('tb-s3-copy', 'tb-s3-copy-all');
    const copies = await deliveriesOf(server, 'tb-s3-copy-only');
    expect(copies.map((d: any) => [d.invocation.payload.Records[0].eventName, keyOf(d)])).toEqual([['ObjectCreated:Copy', 'dst']]);
  });
});
