// SCHEDULE triggers through the API with real functions: expressions and their errors, the
// next-fire-times query, Trigger.schedule, the Scheduled Event shape, updates and disabling, and
// (waiting for one whole minute, shared by all of them) cron ticks, a disabled trigger, three
// server processes firing each tick once, and ticks missed while every server was down (within and
// past the grace window).
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { createTestDatabase } from '../support/db.js';
import { deploy } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { functionsDirOf, startTestServer, type TestServer } from '../support/server.js';
import { CREATE_TRIGGER, createTrigger, deliveriesOf, DELETE_TRIGGER, SET_TRIGGER_ENABLED, UPDATE_TRIGGER } from '../support/triggers.js';
import { api, sleep, SystemTest, TEST_KEY, type Api } from '../system/harness.js';

const ECHO = `exports.handler = async (event) => ({ received: event });`;
const FN = { runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: ECHO }] } };
const SCHEDULE = `query($name: String!, $count: Int) { trigger(name: $name) { name enabled
  schedule { expression timezone nextFireAt lastFiredAt nextFireTimes(count: $count) } } }`;
const NEXT_TIMES = `query($expression: String!, $timezone: String, $count: Int, $after: DateTime) {
  scheduleNextFireTimes(expression: $expression, timezone: $timezone, count: $count, after: $after) }`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type DataApi = Pick<Api, 'data'>;
const scheduleOf = async (s: DataApi, name: string, count = 3) => (await s.data(SCHEDULE, { name, count })).trigger;

/** A trigger's deliveries, oldest first, with the event each carried (the function echoes it). */
async function ticksOf(s: DataApi, name: string) {
  return (await deliveriesOf(s as never, name)).reverse().map((d) => ({ ...d, event: d.invocation.payload }));
}

async function waitForTicks(s: DataApi, name: string, count: number, timeoutMs = 30_000) {
  return waitUntil(
    async () => {
      const ticks = await ticksOf(s, name);
      return ticks.length >= count && ticks.every((t) => t.status === 'SUCCEEDED') ? ticks : null;
    },
    `${count} settled deliveries of ${name}`,
    timeoutMs,
    100,
  );
}

/** waits until the wall clock is past the second of a tick */
const pastSecondOf = (tick: string) => sleep(Date.parse(tick) + 1_000 - Date.now());

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await deploy(server, { name: 'sched-fn', ...FN });
});
afterAll(async () => {
  await server?.close();
});

describe('scheduleNextFireTimes', () => {
  const after = '2026-11-26T09:47:13.000Z';
  const times = async (expression: string, count = 3, timezone?: string) =>
    (await server.data(NEXT_TIMES, { expression, timezone, count, after })).scheduleNextFireTimes;

  it("gives the next fire times of EventBridge's documented examples after a fixed instant", async () => {
    expect(await times('cron(0 10 * * ? *)')).toEqual(['2026-11-26T10:00:00.000Z', '2026-11-27T10:00:00.000Z', '2026-11-28T10:00:00.000Z']);
    expect(await times('cron(0 18 ? * MON-FRI *)', 3)).toEqual([
      '2026-11-26T18:00:00.000Z',
      '2026-11-27T18:00:00.000Z',
      '2026-11-30T18:00:00.000Z',
    ]);
    expect(await times('cron(0/15 * * * ? *)', 2)).toEqual(['2026-11-26T10:00:00.000Z', '2026-11-26T10:15:00.000Z']);
    expect(await times('cron(0 9 ? * 2#1 *)', 2)).toEqual(['2026-12-07T09:00:00.000Z', '2027-01-04T09:00:00.000Z']);
    expect(await times('cron(0 0 ? * 6L *)', 2)).toEqual(['2026-11-27T00:00:00.000Z', '2026-12-25T00:00:00.000Z']);
    expect(await times('cron(0 0 LW * ? *)', 3)).toEqual([
      '2026-11-30T00:00:00.000Z',
      '2026-12-31T00:00:00.000Z',
      '2027-01-29T00:00:00.000Z',
    ]);
    // a rate counts from `after`
    expect(await times('rate(5 minutes)', 2)).toEqual(['2026-11-26T09:52:13.000Z', '2026-11-26T09:57:13.000Z']);
    // five by default, from now by default
    const nextMinute = (t: number) => Math.floor(t / 60_000) * 60_000 + 60_000;
    const before = nextMinute(Date.now());
    const dflt: string[] = (await server.data(NEXT_TIMES, { expression: 'cron(* * * * ? *)' })).scheduleNextFireTimes;
    const later = nextMinute(Date.now());
    // the minutes after the server's now, which lies between the two readings of ours
    const expected = (first: number) => Array.from({ length: 5 }, (_, i) => new Date(first + i * 60_000).toISOString());
    expect([expected(before), expected(later)]).toContainEqual(dflt);
  });

  it('reads cron fields in the time zone, through DST (a skipped 02:30 does not fire)', async () => {
    const r = await server.data(NEXT_TIMES, {
      expression: 'cron(30 2 * * ? *)',
      timezone: 'America/New_York',
      count: 3,
      after: '2026-03-06T00:00:00Z',
    });
    expect(r.scheduleNextFireTimes).toEqual(['2026-03-06T07:30:00.000Z', '2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it('names the part of a bad expression; bad zones and counts are errors on their argument', async () => {
    const bad = async (vars: Record<string, unknown>, field: string, message: string) => {
      const res = await server.gql(NEXT_TIMES, { after, ...vars });
      expectError(res, 'BAD_USER_INPUT', field);
      expect(res.errors![0]!.message).toContain(message);
    };
    await bad(
      { expression: 'cron(0 18 ? * MON-FRX *)' },
      'expression',
      'the day-of-week field (5th): "FRX" is not a value (1-7 or SUN-SAT)',
    );
    await bad({ expression: 'cron(0 18 * * MON *)' }, 'expression', "can't both be set: one of them must be ?");
    await bad({ expression: 'rate(1 minutes)' }, 'expression', 'rate(1 minute)');
    await bad({ expression: 'cron(0 18 * * ? *)', timezone: 'Europe/Nowhere' }, 'timezone', 'is not an IANA time zone name');
    await bad({ expression: 'cron(0 18 * * ? *)', count: 0 }, 'count', 'from 1 to 100');
    await bad({ expression: 'cron(0 18 * * ? *)', count: 101 }, 'count', 'from 1 to 100');
  });
});

describe('SCHEDULE triggers', () => {
  it('refuses invalid expressions and zones with the field and part named, creating nothing', async () => {
    const bad = async (schedule: Record<string, unknown>, field: string, message: string) => {
      const res = await server.gql(CREATE_TRIGGER, { input: { name: 'bad-sched', functionName: 'sched-fn', schedule } });
      expectError(res, 'BAD_USER_INPUT', field);
      expect(res.errors![0]!.message).toContain(message);
    };
    await bad({ expression: 'cron(0 10 * * ?)' }, 'input.schedule.expression', 'cron() takes 6 fields');
    await bad({ expression: 'cron(0 25 * * ? *)' }, 'input.schedule.expression', 'the hours field (2nd): 25 is out of range (0-23)');
    await bad({ expression: 'cron(0 10 ? * 3#6 *)' }, 'input.schedule.expression', 'the day-of-week field (5th)');
    await bad({ expression: 'cron(0 10 30 FEB ? *)' }, 'input.schedule.expression', 'no date from 1970 to 2199 matches');
    await bad({ expression: 'rate(0 hours)' }, 'input.schedule.expression', 'must be a whole number from 1');
    await bad({ expression: 'every day' }, 'input.schedule.expression', 'must be cron(');
    await bad(
      { expression: 'cron(0 10 * * ? *)', timezone: 'Moon/Base' },
      'input.schedule.timezone',
      '"Moon/Base" is not an IANA time zone name',
    );
    expect((await server.data(`query { trigger(name: "bad-sched") { name } }`)).trigger).toBeNull();
  });

  it('a rate fires at once with the Scheduled Event shape, then every period; Trigger.schedule shows its ticks', async () => {
    const t = await createTrigger(server, { name: 'rate-tick', functionName: 'sched-fn', schedule: { expression: 'rate(1 minute)' } });
    expect(t).toMatchObject({ sourceType: 'SCHEDULE', config: { expression: 'rate(1 minute)', timezone: 'UTC' } });
    const [tick] = await waitForTicks(server, 'rate-tick', 1);
    expect(tick!.event).toEqual({
      version: '0',
      id: tick!.eventId,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'local',
      resources: ['arn:aws:events:local:000000000000:rule/rate-tick'],
      detail: {},
    });
    expect(tick!.eventId).toMatch(UUID);
    expect(tick!.invocation).toMatchObject({ invocationType: 'EVENT', functionName: 'sched-fn', response: { received: tick!.event } });
    // EventBridge's event as AWS's published model has it: every field but a replay's name
    expect(await checkAwsEvent('EventBridgeModel', tick!.invocation.response.received)).toEqual({ error: null, missing: ['replay-name'] });
    // the tick is the trigger's creation, to the second
    const created = Date.parse(t.createdAt);
    expect(Date.parse(tick!.event.time)).toBe(Math.floor(created / 1000) * 1000);

    const s = await scheduleOf(server, 'rate-tick');
    const fired = Date.parse(tick!.event.time);
    expect(s.schedule).toEqual({
      expression: 'rate(1 minute)',
      timezone: 'UTC',
      lastFiredAt: new Date(fired).toISOString(),
      nextFireAt: new Date(fired + 60_000).toISOString(),
      nextFireTimes: [1, 2, 3].map((k) => new Date(fired + k * 60_000).toISOString()),
    });
  });

  it('a tick that cannot be queued is a FAILED delivery on the record and its schedule goes on; it holds up no other schedule', async () => {
    await deploy(server, { name: 'sched-refused', ...FN });
    const db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      // the database refuses every queued invocation of one function
      await db.unsafe(`create function refuse_tick() returns trigger language plpgsql as $$ begin
        if new.function_name = 'sched-refused' and new.status = 'QUEUED' then raise exception 'refused by the test'; end if;
        return new; end $$`);
      await db.unsafe('create trigger refuse_tick before insert on invocations for each row execute function refuse_tick()');
      // both due at once (a rate fires when it is made): one batch
      await Promise.all([
        createTrigger(server, { name: 'tick-refused', functionName: 'sched-refused', schedule: { expression: 'rate(1 minute)' } }),
        createTrigger(server, { name: 'tick-ok', functionName: 'sched-fn', schedule: { expression: 'rate(1 minute)' } }),
      ]);
      const [ok] = await waitForTicks(server, 'tick-ok', 1);
      const [refused] = await waitUntil(async () => {
        const ticks = await ticksOf(server, 'tick-refused');
        return ticks.length > 0 ? ticks : null;
      }, 'the refused tick on the record');
      expect(refused).toMatchObject({
        status: 'FAILED',
        attempts: 0,
        invocation: { errorType: 'TriggerDeliveryError', errorMessage: 'refused by the test' },
      });
      expect(refused!.event).toMatchObject({
        'detail-type': 'Scheduled Event',
        id: refused!.eventId,
        resources: ['arn:aws:events:local:000000000000:rule/tick-refused'],
      });
      expect(ok!.status).toBe('SUCCEEDED');
      const fired = Date.parse(refused!.event.time);
      expect((await scheduleOf(server, 'tick-refused')).schedule).toMatchObject({
        lastFiredAt: new Date(fired).toISOString(),
        nextFireAt: new Date(fired + 60_000).toISOString(),
      });
    } finally {
      await db.unsafe('drop trigger if exists refuse_tick on invocations; drop function if exists refuse_tick()');
      await db.end();
    }
  });

  it('a new qualifier keeps the ticks; a new expression starts again from now; disabled has no ticks; enabled again fires at once', async () => {
    await server.data(`mutation { publishVersion(input: { functionName: "sched-fn" }) { version { version } } }`);
    await createTrigger(server, { name: 'rate-upd', functionName: 'sched-fn', schedule: { expression: 'rate(10 minutes)' } });
    await waitForTicks(server, 'rate-upd', 1);
    const before = (await scheduleOf(server, 'rate-upd')).schedule;

    await server.data(UPDATE_TRIGGER, { input: { name: 'rate-upd', qualifier: '1' } });
    expect((await scheduleOf(server, 'rate-upd')).schedule).toEqual(before);

    // a trigger fires each tick time at most once: a new schedule's first tick (now, to the second)
    // must be past the last one's second, or it would wait a period
    await pastSecondOf(before.lastFiredAt);
    await server.data(UPDATE_TRIGGER, {
      input: { name: 'rate-upd', schedule: { expression: 'rate(2 hours)', timezone: 'Europe/Berlin' } },
    });
    const ticks = await waitForTicks(server, 'rate-upd', 2);
    expect(ticks[1]!.invocation.executedVersion).toBe('1');
    expect(ticks[1]!.eventId).not.toBe(ticks[0]!.eventId);
    const changed = (await scheduleOf(server, 'rate-upd', 2)).schedule;
    const second = Date.parse(ticks[1]!.event.time);
    expect(changed).toMatchObject({
      expression: 'rate(2 hours)',
      timezone: 'Europe/Berlin',
      lastFiredAt: new Date(second).toISOString(),
      nextFireTimes: [new Date(second + 7_200_000).toISOString(), new Date(second + 14_400_000).toISOString()],
    });

    await server.data(SET_TRIGGER_ENABLED, { name: 'rate-upd', enabled: false });
    expect((await scheduleOf(server, 'rate-upd')).schedule).toMatchObject({
      nextFireAt: null,
      nextFireTimes: [],
      lastFiredAt: changed.lastFiredAt,
    });
    await pastSecondOf(changed.lastFiredAt);
    await server.data(SET_TRIGGER_ENABLED, { name: 'rate-upd', enabled: true });
    const again = await waitForTicks(server, 'rate-upd', 3);
    expect((await scheduleOf(server, 'rate-upd')).schedule.lastFiredAt).toBe(new Date(Date.parse(again[2]!.event.time)).toISOString());
    expect(new Set(again.map((d) => d.eventId)).size).toBe(3);
  });

  it("a cron trigger's nextFireTimes agree with scheduleNextFireTimes in its zone", async () => {
    const t = await createTrigger(server, {
      name: 'cron-berlin',
      functionName: 'sched-fn',
      schedule: { expression: 'cron(0 9 ? * 2#1 *)', timezone: 'Europe/Berlin' },
    });
    const s = (await scheduleOf(server, 'cron-berlin', 4)).schedule;
    const expected = (
      await server.data(NEXT_TIMES, { expression: 'cron(0 9 ? * 2#1 *)', timezone: 'Europe/Berlin', count: 4, after: t.createdAt })
    ).scheduleNextFireTimes;
    expect(s).toEqual({
      expression: 'cron(0 9 ? * 2#1 *)',
      timezone: 'Europe/Berlin',
      lastFiredAt: null,
      nextFireAt: expected[0],
      nextFireTimes: expected,
    });
    // 09:00 in Berlin is 08:00 or 07:00 UTC
    for (const at of expected) expect(['08:00', '07:00']).toContain(at.slice(11, 16));
    // other sources have no schedule
    await server.data(`mutation { createBucket(input: { name: "sched-none" }) { bucket { name } } }`);
    await createTrigger(server, {
      name: 'not-sched',
      functionName: 'sched-fn',
      bucket: { bucket: 'sched-none', events: ['s3:ObjectCreated:*'] },
    });
    expect((await scheduleOf(server, 'not-sched')).schedule).toBeNull();
    expectError(
      await server.gql(UPDATE_TRIGGER, { input: { name: 'cron-berlin', schedule: { expression: 'cron(0 9 ? * 2#0 *)' } } }),
      'BAD_USER_INPUT',
      'input.schedule.expression',
    );
  });

  it('deleting the trigger, or its function, deletes its schedule', async () => {
    await deploy(server, { name: 'sched-gone', ...FN });
    await createTrigger(server, { name: 'gone-1', functionName: 'sched-gone', schedule: { expression: 'cron(0 0 * * ? *)' } });
    await createTrigger(server, { name: 'gone-2', functionName: 'sched-gone', schedule: { expression: 'cron(0 1 * * ? *)' } });
    const db = postgres(server.databaseUrl, { max: 1 });
    try {
      const count = async () =>
        (
          await db`select count(*)::int as n from trigger_schedules s join triggers t on t.id = s.trigger_id
        where t.function_name = 'sched-gone'`
        )[0]!.n;
      const ids = async () => (await db`select count(*)::int as n from trigger_schedules`)[0]!.n;
      expect(await count()).toBe(2);
      const total = await ids();
      await server.data(DELETE_TRIGGER, { name: 'gone-1' });
      expect(await ids()).toBe(total - 1);
      await server.data(`mutation { deleteFunction(input: { functionName: "sched-gone" }) { functionName } }`);
      expect(await ids()).toBe(total - 2);
    } finally {
      await db.end();
    }
  });
});

describe('ticks at one whole minute', { timeout: 240_000 }, () => {
  // one minute boundary serves every scenario: a cron on a live server, a disabled trigger, three
  // server processes on one database, and a server that is down when the tick passes
  let tick = 0;
  let disabledAt = 0;
  let restartedAt = 0;
  let system: SystemTest;
  const crowd: Api[] = [];
  let revived: TestServer | null = null;
  let revivedLate: TestServer | null = null;
  const CROWD = 6;

  beforeAll(async () => {
    // the live server
    await createTrigger(server, { name: 'minutely', functionName: 'sched-fn', schedule: { expression: 'cron(* * * * ? *)' } });
    await createTrigger(server, { name: 'minutely-off', functionName: 'sched-fn', schedule: { expression: 'cron(* * * * ? *)' } });
    await server.data(SET_TRIGGER_ENABLED, { name: 'minutely-off', enabled: false });
    disabledAt = Date.now();

    // three server processes on one database
    system = await new SystemTest().init('emberplane-sched-');
    const databaseUrl = await createTestDatabase();
    // each server its own function runtime dir, under one its instances' users can enter (an
    // in-process server here tightened this process's umask)
    await fs.mkdir(functionsDirOf(system.dataDir));
    await fs.chmod(functionsDirOf(system.dataDir), 0o755);
    for (let i = 0; i < 3; i++) {
      const s = await system.start({
        DATABASE_URL: databaseUrl,
        ADMIN_API_KEY: TEST_KEY,
        PORT: '0',
        FUNCTIONS_RUNTIME_DIR: path.join(functionsDirOf(system.dataDir), String(i)),
      });
      crowd.push(api(s));
    }
    await deploy(crowd[0]!, { name: 'crowd-fn', ...FN });
    await Promise.all(
      Array.from({ length: CROWD }, (_, i) =>
        createTrigger(crowd[i % 3]!, { name: `crowd-${i}`, functionName: 'crowd-fn', schedule: { expression: 'cron(* * * * ? *)' } }),
      ),
    );

    // two servers (each its own database) that will be down when the tick passes
    const down = await startTestServer();
    const downLong = await startTestServer();
    for (const s of [down, downLong]) {
      await deploy(s, { name: 'missed-fn', ...FN });
      await createTrigger(s, { name: 'missed', functionName: 'missed-fn', schedule: { expression: 'cron(* * * * ? *)' } });
    }

    // the tick: the first whole minute far enough ahead to stop those servers before it
    tick = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    await down.app.close({ stopAgents: true });
    await downLong.app.close({ stopAgents: true });
    await sleep(tick + 2_000 - Date.now());
    restartedAt = Date.now();
    const again = (s: TestServer, grace?: number) =>
      startTestServer({
        databaseUrl: s.databaseUrl,
        dataDir: s.dataDir,
        adminApiKey: s.key,
        ...(grace === undefined ? {} : { scheduleMissedTickGraceSeconds: grace }),
      });
    revived = await again(down);
    // the tick is 2 s old when this one starts: past its grace window
    revivedLate = await again(downLong, 1);
  }, 240_000);

  afterAll(async () => {
    await revived?.close();
    await revivedLate?.close();
    await system?.cleanup();
    if (system?.dataDir) await fs.rm(functionsDirOf(system.dataDir), { recursive: true, force: true });
  }, 90_000);

  const at = (t: { event: { time: string } }) => Date.parse(t.event.time);

  it('a cron fires at the whole minute, once, its event time the tick and its id derived from trigger and tick', async () => {
    const ticks = await waitUntil(
      async () => {
        const list = await ticksOf(server, 'minutely');
        return list.some((t) => at(t) === tick && t.status === 'SUCCEEDED') ? list : null;
      },
      'the tick on the live server',
      30_000,
      100,
    );
    expect(ticks.filter((t) => at(t) === tick)).toHaveLength(1);
    // never twice: every delivery is a different tick
    expect(new Set(ticks.map(at)).size).toBe(ticks.length);
    expect(new Set(ticks.map((t) => t.eventId)).size).toBe(ticks.length);
    for (const t of ticks) expect(at(t) % 60_000).toBe(0);
    const s = (await scheduleOf(server, 'minutely')).schedule;
    expect(Date.parse(s.lastFiredAt)).toBeGreaterThanOrEqual(tick);
    expect(Date.parse(s.nextFireAt)).toBe(Date.parse(s.lastFiredAt) + 60_000);
  });

  it('a disabled trigger delivers nothing', async () => {
    expect(tick).toBeGreaterThan(disabledAt);
    const ticks = await ticksOf(server, 'minutely-off');
    expect(ticks.filter((t) => at(t) > disabledAt)).toEqual([]);
  });

  it('three server processes on one database: each trigger gets the tick exactly once', async () => {
    const all = await waitUntil(
      async () => {
        const lists = await Promise.all(Array.from({ length: CROWD }, (_, i) => ticksOf(crowd[i % 3]!, `crowd-${i}`)));
        return lists.every((l) => l.some((t) => at(t) === tick && t.status === 'SUCCEEDED')) ? lists : null;
      },
      'every crowd trigger to get the tick',
      60_000,
      200,
    );
    // give a duplicate time to show up, on the slowest server, before counting
    await sleep(1_000);
    for (let i = 0; i < CROWD; i++) {
      const ticks = await ticksOf(crowd[(i + 1) % 3]!, `crowd-${i}`);
      expect(
        ticks.filter((t) => at(t) === tick),
        `crowd-${i}`,
      ).toHaveLength(1);
      expect(new Set(ticks.map(at)).size, `crowd-${i}`).toBe(ticks.length);
    }
    expect(all.flat().every((t) => t.event.resources[0].startsWith('arn:aws:events:local:000000000000:rule/crowd-'))).toBe(true);
  });

  it('missed-tick policy: the tick that passed while every server was down fires once after the restart', async () => {
    const ticks = await waitUntil(
      async () => {
        const list = await ticksOf(revived!, 'missed');
        return list.some((t) => at(t) === tick && t.status === 'SUCCEEDED') ? list : null;
      },
      'the missed tick after the restart',
      30_000,
      100,
    );
    const missed = ticks.filter((t) => at(t) === tick);
    expect(missed).toHaveLength(1);
    // delivered late, by the new server, with the time it was due
    expect(Date.parse(missed[0]!.invocation.createdAt)).toBeGreaterThanOrEqual(restartedAt);
    expect(new Set(ticks.map(at)).size).toBe(ticks.length);
    const s = (await scheduleOf(revived!, 'missed')).schedule;
    expect(Date.parse(s.lastFiredAt)).toBeGreaterThanOrEqual(tick);
    expect(Date.parse(s.nextFireAt)).toBe(Date.parse(s.lastFiredAt) + 60_000);
  });

  it('missed-tick policy: a missed tick older than the grace window is skipped; the schedule goes on from the next', async () => {
    const s = await waitUntil(
      async () => {
        const found = (await scheduleOf(revivedLate!, 'missed')).schedule;
        return Date.parse(found.nextFireAt) > tick ? found : null;
      },
      'the schedule to move past the missed tick',
      30_000,
      100,
    );
    expect(Date.parse(s.nextFireAt) % 60_000).toBe(0);
    const ticks = await ticksOf(revivedLate!, 'missed');
    expect(ticks.filter((t) => at(t) === tick)).toEqual([]);
    expect(ticks.every((t) => at(t) < tick || Date.parse(t.invocation.createdAt) >= restartedAt)).toBe(true);
  });
});
