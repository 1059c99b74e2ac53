// What one API key may hold open over WebSocket: subscriptions per connection, per key across its
// connections, and connections per key. A refusal is a client's error (THROTTLED, or close 1013) that
// leaves every other subscription, of this key or another, running; a freed place can be used again.
import type { Client } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Subscription } from '../support/client.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HOST_FEED_KEY } from '../../src/hosts/queries.js';

// from the first host event on: the server's own host has joined, so each subscription receives at
// least one event at once, which proves it was accepted
const UPDATES = `subscription { hostUpdates(after: "0") { cursor } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const PER_CONNECTION = 3;
const PER_KEY = 5;
const CONNECTIONS = 3;

let server: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer({
    wsOperationsPerConnection: PER_CONNECTION,
    wsOperationsPerKey: PER_KEY,
    wsConnectionsPerKey: CONNECTIONS,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
});

async function newKey(name: string): Promise<string> {
  const { createApiKey } = await server.data(CREATE_KEY, { input: { name, actions: ['hosts:ListHosts'] } });
  return createApiKey.key;
}

function connect(key: string): Client {
  const client = server.ws(key);
  clients.push(client);
  return client;
}

const updates = (client: Client) => new Subscription(client, UPDATES, {}, (d) => d.hostUpdates);

/** a subscription that the server accepted: it has received the replayed host events */
async function accepted(client: Client): Promise<Subscription> {
  const sub = updates(client);
  await sub.waitFor((v) => v.length > 0, 'the replayed host events');
  return sub;
}

/** the GraphQL errors a refused subscription got, as the client received them */
async function refusal(client: Client): Promise<Array<{ message: string; extensions?: { code?: string } }>> {
  const sub = updates(client);
  const errors = (await sub.waitForError()) as unknown[];
  expect(sub.values).toEqual([]);
  return errors.flat() as Array<{ message: string; extensions?: { code?: string } }>;
}

const stillLive = (subs: Subscription[]) => {
  for (const sub of subs) {
    expect(sub.errors).toEqual([]);
    expect(sub.completed).toBe(false);
  }
};

describe('WebSocket limits per API key', () => {
  it(`a connection holds at most ${PER_CONNECTION} subscriptions; the one over is THROTTLED, and a place freed is taken again`, async () => {
    const client = connect(await newKey('per-connection'));
    const open = [await accepted(client), await accepted(client), await accepted(client)];
    const errors = await refusal(client);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions?.code).toBe('THROTTLED');
    expect(errors[0]!.message).toBe(`at most ${PER_CONNECTION} subscriptions at once on one WebSocket connection`);
    stillLive(open);

    // the client's complete message is handled before its next subscribe on the same socket
    open.shift()!.close();
    open.push(await accepted(client));
    stillLive(open);
  });

  it(`a key holds at most ${PER_KEY} subscriptions across its connections; another key is not affected`, async () => {
    const key = await newKey('per-key');
    const first = connect(key);
    const second = connect(key);
    const open = [await accepted(first), await accepted(first), await accepted(first), await accepted(second), await accepted(second)];
    const errors = await refusal(second);
    expect(errors[0]!.extensions?.code).toBe('THROTTLED');
    expect(errors[0]!.message).toBe(`at most ${PER_KEY} subscriptions at once per API key`);
    stillLive(open);

    const other = await accepted(connect(await newKey('per-key-other')));
    stillLive([...open, other]);
  });

  it(`a key holds at most ${CONNECTIONS} connections; the one over is closed with 1013 (try again later), and a connection closed frees its place`, async () => {
    const key = await newKey('connections');
    const connections = Array.from({ length: CONNECTIONS }, () => connect(key));
    const open = [];
    for (const client of connections) open.push(await accepted(client));

    const over = updates(connect(key));
    const [closed] = (await over.waitForError()) as Array<{ code?: number; reason?: string }>;
    expect(closed).toMatchObject({ code: 1013, reason: `at most ${CONNECTIONS} WebSocket connections per API key` });
    expect(over.values).toEqual([]);
    stillLive(open);

    await connections[0]!.dispose();
    // the server forgets the connection when its socket's close reaches it: wait for that state
    const replacement = await waitUntil(() => {
      const sub = updates(connect(key));
      return sub
        .waitFor((v) => v.length > 0, 'the replayed host events')
        .then(
          () => sub,
          () => null,
        );
    }, 'a new connection of the key to be accepted');
    stillLive([...open.slice(1), replacement]);
  });

  it('a connection whose socket closed while its key was being checked holds no place of the key', async () => {
    const key = await newKey('closed-while-checked');
    // the key's first check reads its row: held here until every connection below has gone
    const db = postgres(server.databaseUrl, { max: 2, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    const holding = db.begin(async (tx) => {
      await tx`lock table api_keys in access exclusive mode`;
      locked();
      await released;
    });
    try {
      await lockHeld;
      const gone = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
        gone.push(socket);
      }
      await waitUntil(async () => {
        const [{ n }] = await db`select count(*)::int as n from pg_locks where relation = 'api_keys'::regclass and not granted`;
        return n >= CONNECTIONS;
      }, 'the connections’ key checks to wait on the lock');
      await Promise.all(gone.map((socket) => new Promise((resolve) => socket.once('close', resolve).close())));
      // a request served after the sockets' ends reached the server
      await server.data(`{ __typename }`);
    } finally {
      release();
      await holding;
      await db.end();
    }
    await accepted(connect(key));
  });

  it('an id completed while its operation is still starting is not taken again until that operation ends; whatever ran ends with the socket', async () => {
    const feed = server.app.modules.hosts.events.feed as unknown as { tails: Map<string, { subscribers: number }> };
    const followers = () => feed.tails.get(HOST_FEED_KEY)?.subscribers ?? 0;
    const before = followers();
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: Array<{ id?: string; type: string; payload?: Array<{ extensions?: { code?: string; field?: string } }> }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await newKey('reused-id')}` } }));
    await waitUntil(() => messages.some((m) => m.type === 'connection_ack'), 'the connection to be acknowledged');
    // written at once, in one segment: the server reads them together, each complete and subscribe
    // while the first subscribe is still starting
    const subscribe = JSON.stringify({ type: 'subscribe', id: 'x', payload: { query: UPDATES } });
    const tcp = (socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.cork();
    for (let i = 0; i < PER_CONNECTION * 2; i++) {
      socket.send(subscribe);
      socket.send(JSON.stringify({ type: 'complete', id: 'x' }));
    }
    socket.send(subscribe);
    tcp.uncork();
    const refusals = () => messages.filter((m) => m.id === 'x' && m.type === 'error');
    const later = PER_CONNECTION * 2;
    await waitUntil(() => refusals().length >= later, 'an answer to each later subscribe');
    // each later subscribe was refused while the first was starting: none ran beside it
    expect(refusals().map((m) => [m.payload?.[0]?.extensions?.code, m.payload?.[0]?.extensions?.field])).toEqual(
      Array.from({ length: later }, () => ['BAD_USER_INPUT', 'id']),
    );
    // at most the first runs (its complete came before it was ready)
    expect(followers() - before).toBeLessThanOrEqual(1);
    await new Promise((resolve) => socket.once('close', resolve).close());
    // at most as many as before: others' subscriptions ending meanwhile only lower it
    await waitUntil(() => followers() <= before, 'the subscriptions of the closed socket to end');
  });

  it('a document without the named operation is refused as the client’s error, and its id is free again', async () => {
    const client = connect(await newKey('operation-name'));
    const named = new Subscription(client, `subscription a { hostUpdates(after: "0") { cursor } }`, {}, (d) => d.hostUpdates);
    await named.waitFor((v) => v.length > 0, 'the replayed host events');
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: Array<{ id?: string; type: string; payload?: Array<{ extensions?: { code?: string; field?: string } }> }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    try {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await newKey('operation-name-2')}` } }));
      await waitUntil(() => messages.some((m) => m.type === 'connection_ack'), 'the connection to be acknowledged');
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          id: 'y',
          payload: { query: `subscription a { hostUpdates(after: "0") { cursor } }`, operationName: 'b' },
        }),
      );
      const error = await waitUntil(() => messages.find((m) => m.id === 'y' && m.type === 'error'), 'the refusal');
      expect(error.payload?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'operationName' });
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          id: 'y',
          payload: { query: `subscription a { hostUpdates(after: "0") { cursor } }`, operationName: 'a' },
        }),
      );
      await waitUntil(() => messages.some((m) => m.id === 'y' && m.type === 'next'), 'the same id, now with a known operation, to run');
    } finally {
      socket.close();
    }
  });
});
