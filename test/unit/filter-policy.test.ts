// SNS filter policies (src/messaging/filter-policy.ts): validation and matching, operator by
// operator, with the examples of SNS's documentation. End to end: test/api/trigger-topic.test.ts.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors.js';
import { matchesAttributes, matchesBody, parseFilterPolicy, type MessageAttributeValue } from '../../src/messaging/filter-policy.js';

const S = (v: string): MessageAttributeValue => ({ dataType: 'String', stringValue: v });
const N = (v: number): MessageAttributeValue => ({ dataType: 'Number', stringValue: String(v) });
const A = (v: unknown[]): MessageAttributeValue => ({ dataType: 'String.Array', stringValue: JSON.stringify(v) });
const B = (v: string): MessageAttributeValue => ({ dataType: 'Binary', binaryValue: Buffer.from(v).toString('base64') });

const attrs = (policy: object, a: Record<string, MessageAttributeValue>) =>
  matchesAttributes(parseFilterPolicy(policy, 'MessageAttributes', 'p'), a);
const body = (policy: object, doc: unknown) =>
  matchesBody(parseFilterPolicy(policy, 'MessageBody', 'p'), typeof doc === 'string' ? doc : JSON.stringify(doc));

function refusal(policy: unknown, scope: 'MessageAttributes' | 'MessageBody' = 'MessageAttributes'): string {
  try {
    parseFilterPolicy(policy, scope, 'input.topic.filterPolicy');
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('BAD_USER_INPUT');
    expect((err as AppError).field).toBe('input.topic.filterPolicy');
    return (err as AppError).message;
  }
  throw new Error(`policy accepted: ${JSON.stringify(policy)}`);
}

// the message of SNS's documentation (a customer transaction)
const TX = {
  customer_interests: A(['soccer', 'rugby', 'hockey']),
  store: S('example_corp'),
  event: S('order_placed'),
  price_usd: N(210.75),
};

describe('matching message attributes', () => {
  it('exact strings: OR within a key, AND across keys; missing keys do not match', () => {
    expect(attrs({ store: ['example_corp', 'other'] }, TX)).toBe(true);
    expect(attrs({ store: ['example_corp'], event: ['order_cancelled'] }, TX)).toBe(false);
    expect(attrs({ store: ['example_corp'], event: ['order_placed'] }, TX)).toBe(true);
    expect(attrs({ colour: ['red'] }, TX)).toBe(false);
    expect(attrs({ store: ['Example_Corp'] }, TX)).toBe(false);
    expect(attrs({}, TX)).toBe(true);
  });

  it('String.Array: any element matches', () => {
    expect(attrs({ customer_interests: ['rugby'] }, TX)).toBe(true);
    expect(attrs({ customer_interests: ['baseball'] }, TX)).toBe(false);
    expect(attrs({ customer_interests: [{ prefix: 'hock' }] }, TX)).toBe(true);
  });

  it('numbers: exact values and ranges; strings never match numeric conditions', () => {
    expect(attrs({ price_usd: [210.75] }, TX)).toBe(true);
    expect(attrs({ price_usd: [{ numeric: ['=', 210.75] }] }, TX)).toBe(true);
    expect(attrs({ price_usd: [{ numeric: ['>', 0, '<=', 150] }] }, TX)).toBe(false);
    expect(attrs({ price_usd: [{ numeric: ['>=', 210.75, '<', 300] }] }, TX)).toBe(true);
    expect(attrs({ price_usd: [{ numeric: ['<', 210.75] }] }, TX)).toBe(false);
    expect(attrs({ price_usd: [{ numeric: ['>', 100] }] }, { price_usd: S('500') })).toBe(false);
    expect(attrs({ price_usd: ['210.75'] }, TX)).toBe(false);
    // five digits after the point
    expect(attrs({ n: [1.000001] }, { n: N(1) })).toBe(true);
  });

  it('prefix, suffix, equals-ignore-case', () => {
    expect(attrs({ event: [{ prefix: 'order_' }] }, TX)).toBe(true);
    expect(attrs({ event: [{ suffix: '_placed' }] }, TX)).toBe(true);
    expect(attrs({ event: [{ suffix: '_shipped' }] }, TX)).toBe(false);
    expect(attrs({ store: [{ 'equals-ignore-case': 'EXAMPLE_corp' }] }, TX)).toBe(true);
  });

  it('anything-but: values, numbers, prefix; an absent attribute does not match', () => {
    expect(attrs({ store: [{ 'anything-but': ['example_corp', 'x'] }] }, TX)).toBe(false);
    expect(attrs({ store: [{ 'anything-but': 'other_corp' }] }, TX)).toBe(true);
    expect(attrs({ price_usd: [{ 'anything-but': [100, 210.75] }] }, TX)).toBe(false);
    expect(attrs({ price_usd: [{ 'anything-but': 100 }] }, TX)).toBe(true);
    expect(attrs({ event: [{ 'anything-but': { prefix: 'order' } }] }, TX)).toBe(false);
    expect(attrs({ event: [{ 'anything-but': { prefix: 'invoice' } }] }, TX)).toBe(true);
    expect(attrs({ event: [{ 'anything-but': { suffix: 'placed' } }] }, TX)).toBe(false);
    expect(attrs({ colour: [{ 'anything-but': 'red' }] }, TX)).toBe(false);
  });

  it('exists: true needs the key; false needs it absent and some attribute present', () => {
    expect(attrs({ store: [{ exists: true }] }, TX)).toBe(true);
    expect(attrs({ colour: [{ exists: true }] }, TX)).toBe(false);
    expect(attrs({ colour: [{ exists: false }] }, TX)).toBe(true);
    expect(attrs({ store: [{ exists: false }] }, TX)).toBe(false);
    expect(attrs({ store: [{ exists: false }] }, {})).toBe(false);
  });

  it('$or across keys, alone and beside other keys', () => {
    const policy = { store: ['example_corp'], $or: [{ event: ['order_cancelled'] }, { price_usd: [{ numeric: ['>', 200] }] }] };
    expect(attrs(policy, TX)).toBe(true);
    expect(attrs(policy, { ...TX, price_usd: N(10) })).toBe(false);
    expect(attrs({ $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: S('2') })).toBe(true);
  });

  it('Binary attributes are never matched', () => {
    expect(attrs({ blob: [{ exists: true }] }, { blob: B('x') })).toBe(false);
  });
});

describe('matching message bodies', () => {
  const doc = {
    store: 'example_corp',
    price: 99.5,
    tags: ['a', 'b'],
    customer: { tier: 'gold', address: { country: 'NL' } },
    lines: [{ sku: 'x1' }, { sku: 'y2' }],
    gift: false,
    note: null,
  };

  it('top-level and nested keys, lists of values and of objects', () => {
    expect(body({ store: ['example_corp'] }, doc)).toBe(true);
    expect(body({ customer: { tier: ['gold', 'silver'] } }, doc)).toBe(true);
    expect(body({ customer: { address: { country: [{ prefix: 'N' }] } } }, doc)).toBe(true);
    expect(body({ customer: { tier: ['bronze'] } }, doc)).toBe(false);
    expect(body({ tags: ['b'] }, doc)).toBe(true);
    expect(body({ lines: { sku: ['y2'] } }, doc)).toBe(true);
    expect(body({ lines: { sku: ['z9'] } }, doc)).toBe(false);
    expect(body({ price: [{ numeric: ['<', 100] }] }, doc)).toBe(true);
    expect(body({ gift: [false], note: [null] }, doc)).toBe(true);
    expect(body({ missing: { deeper: [{ exists: false }] } }, doc)).toBe(true);
    expect(body({ customer: { tier: [{ exists: true }] }, price: [{ 'anything-but': [99.5] }] }, doc)).toBe(false);
  });

  it('a body that is not a JSON object matches no policy but the empty one', () => {
    expect(body({ store: [{ exists: false }] }, 'plain text')).toBe(false);
    expect(body({ a: ['1'] }, '[1,2]')).toBe(false);
    expect(body({}, 'plain text')).toBe(true);
  });
});

describe('validation (as SNS refuses a policy at Subscribe)', () => {
  it('accepts a JSON string', () => {
    expect(parseFilterPolicy('{"a":["x"]}', 'MessageAttributes', 'f')).toEqual({ a: ['x'] });
  });

  it('refuses malformed policies with a message naming the part', () => {
    expect(refusal('{nope')).toMatch(/not valid JSON/);
    expect(refusal(['a'])).toMatch(/JSON object/);
    expect(refusal({ a: 'x' })).toMatch(/a must be a list of values/);
    expect(refusal({ a: [] })).toMatch(/at least one value/);
    expect(refusal({ a: [{ wildcard: 'x*' }] })).toMatch(/unknown operator "wildcard"/);
    expect(refusal({ a: [{ prefix: 'x', suffix: 'y' }] })).toMatch(/exactly one operator/);
    expect(refusal({ a: [{ prefix: 1 }] })).toMatch(/a\[0\]\.prefix must be a string/);
    expect(refusal({ a: [{ exists: 'yes' }] })).toMatch(/exists must be true or false/);
    expect(refusal({ a: [{ numeric: ['>', 'ten'] }] })).toMatch(/must be a number/);
    expect(refusal({ a: [{ numeric: ['~', 1] }] })).toMatch(/must be one of/);
    expect(refusal({ a: [{ numeric: ['>', 5, '>', 6] }] })).toMatch(/one lower bound/);
    expect(refusal({ a: [{ numeric: ['>', 5, '<', 1] }] })).toMatch(/below the upper/);
    expect(refusal({ a: [2e9] })).toMatch(/between -1e9 and 1e9/);
    expect(refusal({ a: [{ 'anything-but': { wildcard: 'x' } }] })).toMatch(/anything-but takes/);
    expect(refusal({ a: [{ 'anything-but': [] }] })).toMatch(/at least one value/);
    expect(refusal({ $or: [{ a: ['x'] }] })).toMatch(/at least two/);
    expect(refusal({ a: [true] })).toMatch(/only match message bodies/);
  });

  it('MessageAttributes policies are flat; MessageBody policies nest', () => {
    expect(refusal({ a: { b: ['x'] } })).toMatch(/cannot nest/);
    expect(parseFilterPolicy({ a: { b: ['x'] } }, 'MessageBody', 'f')).toEqual({ a: { b: ['x'] } });
    expect(refusal({ a: { b: { c: { d: { e: { f: ['x'] } } } } } }, 'MessageBody')).toMatch(/deeper than 5/);
    // $or nests too: a deep chain of them is refused by the depth limit, not by a stack overflow
    const or = (n: number) => `${'{"$or":['.repeat(n)}{"a":["x"]}${',{"b":["y"]}]}'.repeat(n)}`;
    expect(parseFilterPolicy(or(4), 'MessageAttributes', 'f')).toEqual(JSON.parse(or(4)));
    expect(refusal(or(5))).toMatch(/deeper than 5/);
    expect(refusal(or(5000))).toMatch(/deeper than 5/);
  });

  it('limits: five keys, 150 combinations, 256 KB', () => {
    expect(refusal({ a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: ['1'] })).toMatch(/at most 5 keys/);
    const ten = Array.from({ length: 10 }, (_, i) => String(i));
    // 10 × 5 × 3 = 150: exactly at the limit
    const atLimit = { a: ten, b: ten.slice(0, 5), c: ['x', 'y', 'z'] };
    expect(parseFilterPolicy(atLimit, 'MessageAttributes', 'f')).toEqual(atLimit);
    expect(refusal({ a: ten, b: ten, c: ['x', 'y'] })).toMatch(/150 combinations/);
    expect(refusal({ a: ['x'.repeat(300 * 1024)] })).toMatch(/at most 262144 bytes/);
    expect(refusal(JSON.stringify({ a: ['x'.repeat(300 * 1024)] }))).toMatch(/at most 262144 bytes/);
  });
});
