// Fuzzing the API edge from its own introspection: hostile values for every argument of every root
// field (and the fields of their input objects), over HTTP and WebSocket. Whatever a client sends:
// no INTERNAL, no 5xx, the server stays up, and a mutation that was refused changed nothing.
// Bounded: every argument slot gets a few hostile values drawn by a seeded PRNG (the same every run),
// which keeps the run to seconds.
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let schema: GraphQLSchema;
beforeAll(async () => {
  server = await startTestServer();
  const res = await server.gql(getIntrospectionQuery({ inputValueDeprecation: true }));
  schema = buildClientSchema(res.data);
});
afterAll(async () => {
  await server?.close();
});

/** A small deterministic PRNG (mulberry32): the same cases every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const deep = (levels: number): unknown => {
  let v: unknown = {};
  for (let i = 0; i < levels; i++) v = { a: [v] };
  return v;
};

const HOSTILE: unknown[] = [
  null,
  '',
  ' ',
  'x'.repeat(70_000),
  'nul\u0000byte',
  '💥\u202e\uffff',
  '../../../etc/passwd',
  "'; drop table clusters; --",
  '%s%n',
  'j-00000000',
  's3://',
  `s3://b/${'k'.repeat(2_000)}`,
  -1,
  0,
  2 ** 31,
  -(2 ** 31) - 1,
  1e308,
  1.5,
  Number.MAX_SAFE_INTEGER,
  true,
  {},
  [],
  [null],
  Array.from({ length: 300 }, () => 'x'),
  deep(40),
  deep(200),
  'NOT_AN_ENUM_VALUE',
  '2026-13-45T99:99:99Z',
  { unexpected: 'field' },
];

/** A plausible value of an input type (the baseline the hostile value is put into). */
function plausible(type: GraphQLInputType, depth = 0): unknown {
  if (isNonNullType(type)) return plausible(type.ofType, depth);
  if (isListType(type)) return [plausible(type.ofType, depth)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    if (depth > 4) return {};
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type)) out[f.name] = plausible(f.type, depth + 1);
    return out;
  }
  switch (type.name) {
    case 'Int':
      return 1;
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      return '2026-01-01T00:00:00Z';
    case 'JSON':
    case 'JSONObject':
      return {};
    default:
      return `fuzz-${type.name.toLowerCase()}`;
  }
}

/** Paths into a field's arguments where a value can be put: each argument and the fields of its input objects. */
function slots(args: readonly GraphQLArgument[]): string[][] {
  const out: string[][] = [];
  const walk = (type: GraphQLInputType, path: string[], depth: number) => {
    out.push(path);
    const named = getNamedType(type);
    if (isInputObjectType(named) && depth < 3) for (const f of Object.values(named.getFields())) walk(f.type, [...path, f.name], depth + 1);
  };
  for (const a of args) walk(a.type, [a.name], 0);
  return out;
}

function withValue(base: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  let node: any = copy;
  for (const key of path.slice(0, -1)) {
    if (Array.isArray(node[key])) node[key] = node[key][0];
    if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
    node = node[key];
  }
  node[path[path.length - 1]!] = value;
  return copy;
}

const typeRef = (t: GraphQLInputType): string => t.toString();

/** A document calling one root field with every argument as a variable, selecting `__typename` of its result. */
function documentOf(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>): string {
  const defs = field.args.map((a) => `$${a.name}: ${typeRef(a.type)}`).join(', ');
  const call = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${kind}${defs ? `(${defs})` : ''} { ${field.name}${call ? `(${call})` : ''}${selection} }`;
}

interface Case {
  kind: 'query' | 'mutation' | 'subscription';
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

/** For every argument slot of every field of `root`, `perSlot` hostile values (all of them when perSlot is Infinity). */
function casesOf(kind: Case['kind'], root: GraphQLObjectType | null | undefined, perSlot: number, random: () => number): Case[] {
  const cases: Case[] = [];
  for (const field of Object.values(root?.getFields() ?? {})) {
    const query = documentOf(kind, field);
    const base = Object.fromEntries(field.args.map((a) => [a.name, plausible(a.type)]));
    const places = slots(field.args);
    if (places.length === 0) {
      cases.push({ kind, field: field.name, query, variables: {} });
      continue;
    }
    for (const place of places) {
      const values =
        perSlot >= HOSTILE.length ? HOSTILE : Array.from({ length: perSlot }, () => HOSTILE[Math.floor(random() * HOSTILE.length)]);
      for (const value of values) cases.push({ kind, field: field.name, query, variables: withValue(base, place, value) });
    }
  }
  return cases;
}

/** One document listing everything a client can list (root fields without required arguments), with the scalars of each item. */
function listingsQuery(): string {
  const scalarsOf = (t: GraphQLObjectType) =>
    Object.values(t.getFields())
      .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)) && !/At$|seconds|Count$/i.test(f.name))
      .map((f) => f.name)
      .join(' ');
  const parts: string[] = [];
  for (const f of Object.values(schema.getQueryType()!.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(f.type);
    if (!isObjectType(named)) continue;
    if (named.name.endsWith('Connection')) {
      const node = getNamedType(named.getFields().edges!.type) as GraphQLObjectType;
      const item = getNamedType(node.getFields().node!.type) as GraphQLObjectType;
      parts.push(`${f.name}(first: 100) { edges { node { ${scalarsOf(item)} } } }`);
    } else if (isListType(isNonNullType(f.type) ? f.type.ofType : f.type)) {
      const fields = scalarsOf(named);
      if (fields) parts.push(`${f.name} { ${fields} }`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** What went wrong with one response: INTERNAL, a 5xx, or a non-GraphQL answer. */
function problemOf(c: Case, status: number, body: any): string | null {
  const codes = (body?.errors ?? []).map((e: any) => e?.extensions?.code);
  if (status >= 500 || codes.includes('INTERNAL') || !body || (body.data === undefined && !body.errors)) {
    return `${c.kind} ${c.field} ${JSON.stringify(c.variables).slice(0, 200)} → ${status} ${JSON.stringify(body).slice(0, 300)}`;
  }
  return null;
}

async function postCase(c: Case): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
    body: JSON.stringify({ query: c.query, variables: c.variables }),
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* a non-JSON answer is a problem */
  }
  return { status: res.status, body };
}

/**
 * Runs a case over an open graphql-ws client: its first result or error. Every subscription root
 * field watches a resource that must exist, which fuzzed arguments never name: each case gets an
 * answer (a case left unanswered hangs the test, which is a finding too).
 */
function wsCase(client: Client, c: Case, drive?: () => Promise<void>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const stop = client.subscribe(
      { query: c.query, variables: c.variables },
      {
        next: (value) => {
          if (!done) {
            done = true;
            stop();
            resolve({ status: 200, body: value });
          }
        },
        error: (err) => {
          if (!done) {
            done = true;
            resolve({
              status: Array.isArray(err) ? 200 : 599,
              body: Array.isArray(err) ? { errors: err } : { errors: [{ message: String(err), extensions: { code: 'INTERNAL' } }] },
            });
          }
        },
        complete: () => {
          if (!done) {
            done = true;
            resolve({ status: 200, body: { data: null } });
          }
        },
      },
    );
    // a feed that is live "from now on" sends nothing until something changes: changed until it
    // answers (its subscription may start after a change), it must send one (or refuse its arguments)
    if (drive)
      void (async () => {
        while (!done) await drive();
      })().catch(reject);
  });
}

describe('fuzzing every root field from introspection', () => {
  it('over HTTP: no INTERNAL, no 5xx, and a refused mutation changes nothing', async () => {
    const random = prng(11);
    const cases = [...casesOf('query', schema.getQueryType(), 4, random), ...casesOf('mutation', schema.getMutationType(), 1, random)];
    const listings = listingsQuery();
    const snapshot = async () => JSON.stringify((await server.gql(listings)).data);
    expect(JSON.parse(await snapshot())).not.toBeNull();
    const problems: string[] = [];
    const changedByRefusal: string[] = [];
    for (const c of cases) {
      const before = c.kind === 'mutation' ? await snapshot() : null;
      const { status, body } = await postCase(c);
      const problem = problemOf(c, status, body);
      if (problem) problems.push(problem);
      const refused = body?.errors?.length && (body.data === null || body.data === undefined || body.data[c.field] == null);
      if (before !== null && refused && (await snapshot()) !== before) {
        changedByRefusal.push(`${c.field} ${JSON.stringify(c.variables).slice(0, 200)} → ${JSON.stringify(body.errors).slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(changedByRefusal).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
    // still serving
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('over WebSocket: subscriptions, and a sample of queries and mutations', async () => {
    const random = prng(23);
    const cases = [
      ...casesOf('subscription', schema.getSubscriptionType(), Infinity, random),
      ...casesOf('query', schema.getQueryType(), 1, random),
      ...casesOf('mutation', schema.getMutationType(), 1, random),
    ];
    const client = server.ws();
    const problems: string[] = [];
    // hostUpdates without `after` is such a feed: a drain and resume of this server's own host changes it
    const embedded = (await server.data('{ hosts(first: 10) { edges { node { id embedded } } } }')).hosts.edges
      .map((e: any) => e.node)
      .find((h: any) => h.embedded).id;
    const changeAHost = async () => {
      await server.data('mutation($id: ID!) { drainHost(input: { id: $id }) { host { id } } }', { id: embedded });
      await server.data('mutation($id: ID!) { resumeHost(input: { id: $id }) { host { id } } }', { id: embedded });
    };
    try {
      for (const c of cases) {
        const { status, body } = await wsCase(client, c, c.field === 'hostUpdates' ? changeAHost : undefined);
        const problem = problemOf(c, status, body);
        if (problem) problems.push(problem);
      }
    } finally {
      await client.dispose();
    }
    expect(problems).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
  });
});
