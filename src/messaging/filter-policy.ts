// SNS subscription filter policies: validation (as SNS refuses a policy at Subscribe time) and
// matching against a message's attributes or its JSON body.
//
// A policy maps keys to a list of conditions (OR within a list, AND across keys); `$or` takes a list
// of sub-policies. Conditions: exact strings/numbers (and true/false/null in body policies), `prefix`,
// `suffix`, `equals-ignore-case`, `anything-but` (values, or a prefix/suffix/equals-ignore-case),
// `numeric` comparisons and ranges, `exists`. MessageBody policies nest objects to reach nested keys.
import { badInput } from '../platform/errors.js';

export type FilterPolicyScope = 'MessageAttributes' | 'MessageBody';
export type FilterPolicy = Record<string, unknown>;

/** Limits from SNS's filter policy constraints. */
const FilterPolicyLimits = { bytes: 256 * 1024, keys: 5, combinations: 150, depth: 5, numericBound: 1e9 } as const;

type Primitive = string | number | boolean | null;
const NUMERIC_OPS = ['=', '<', '<=', '>', '>='] as const;
const ANYTHING_BUT_MATCHERS = ['prefix', 'suffix', 'equals-ignore-case'] as const;

// ---- validation ----

class PolicyChecker {
  keys = 0;

  constructor(
    private readonly scope: FilterPolicyScope,
    private readonly fail: (message: string) => Error,
  ) {}

  /** returns the policy's number of value combinations (SNS's complexity measure) */
  object(policy: unknown, path: string, depth: number): number {
    if (policy === null || typeof policy !== 'object' || Array.isArray(policy))
      throw this.fail(`${path || 'the policy'} must be a JSON object`);
    if (depth > FilterPolicyLimits.depth) throw this.fail(`${path} nests deeper than ${FilterPolicyLimits.depth} levels`);
    const entries = Object.entries(policy as Record<string, unknown>);
    if (entries.length === 0 && path) throw this.fail(`${path} must not be empty`);
    let combinations = 1;
    for (const [key, spec] of entries) {
      const at = path ? `${path}.${key}` : key;
      if (key === '$or') {
        if (!Array.isArray(spec) || spec.length < 2) throw this.fail(`${at} must be a list of at least two policies`);
        // a $or nests as a key does: its sub-policies count toward the depth limit (unbounded, they would overflow the stack)
        combinations *= spec.reduce((sum: number, sub, i) => sum + this.object(sub, `${at}[${i}]`, depth + 1), 0);
      } else if (!key) {
        throw this.fail(`${path || 'the policy'} has an empty key`);
      } else if (Array.isArray(spec)) {
        if (++this.keys > FilterPolicyLimits.keys) throw this.fail(`a filter policy can have at most ${FilterPolicyLimits.keys} keys`);
        if (spec.length === 0) throw this.fail(`${at} must list at least one value`);
        spec.forEach((c, i) => {
          this.condition(c, `${at}[${i}]`);
        });
        combinations *= spec.length;
      } else if (spec !== null && typeof spec === 'object') {
        if (this.scope === 'MessageAttributes')
          throw this.fail(`${at}: a MessageAttributes policy cannot nest keys (use filterPolicyScope MessageBody)`);
        combinations *= this.object(spec, at, depth + 1);
      } else {
        throw this.fail(`${at} must be a list of values`);
      }
      if (combinations > FilterPolicyLimits.combinations)
        throw this.fail(`the policy has more than ${FilterPolicyLimits.combinations} combinations of values`);
    }
    return combinations;
  }

  private number(value: unknown, at: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.fail(`${at} must be a number`);
    if (Math.abs(value) > FilterPolicyLimits.numericBound) throw this.fail(`${at} must be between -1e9 and 1e9`);
    return value;
  }

  private string(value: unknown, at: string): string {
    if (typeof value !== 'string') throw this.fail(`${at} must be a string`);
    return value;
  }

  private condition(c: unknown, at: string): void {
    if (typeof c === 'string') return;
    if (typeof c === 'number') {
      this.number(c, at);
      return;
    }
    if (c === null || typeof c === 'boolean') {
      if (this.scope === 'MessageAttributes') throw this.fail(`${at}: true, false and null only match message bodies`);
      return;
    }
    if (Array.isArray(c) || typeof c !== 'object') throw this.fail(`${at} must be a string, a number or an operator object`);
    const entries = Object.entries(c as Record<string, unknown>);
    if (entries.length !== 1) throw this.fail(`${at} must have exactly one operator`);
    const [op, arg] = entries[0]!;
    switch (op) {
      case 'prefix':
      case 'suffix':
      case 'equals-ignore-case':
        this.string(arg, `${at}.${op}`);
        return;
      case 'exists':
        if (typeof arg !== 'boolean') throw this.fail(`${at}.exists must be true or false`);
        return;
      case 'numeric':
        this.numeric(arg, `${at}.numeric`);
        return;
      case 'anything-but':
        this.anythingBut(arg, `${at}.anything-but`);
        return;
      default:
        throw this.fail(`${at}: unknown operator "${op}" (supported: prefix, suffix, equals-ignore-case, anything-but, numeric, exists)`);
    }
  }

  private anythingBut(arg: unknown, at: string): void {
    if (typeof arg === 'string') return;
    if (typeof arg === 'number') {
      this.number(arg, at);
      return;
    }
    if (Array.isArray(arg)) {
      if (arg.length === 0) throw this.fail(`${at} must list at least one value`);
      arg.forEach((v, i) => {
        if (typeof v !== 'string') this.number(v, `${at}[${i}]`);
      });
      return;
    }
    if (arg !== null && typeof arg === 'object') {
      const entries = Object.entries(arg as Record<string, unknown>);
      const [op, value] = entries[0] ?? [];
      if (entries.length !== 1 || !(ANYTHING_BUT_MATCHERS as readonly string[]).includes(op!)) {
        throw this.fail(`${at} takes a value, a list of values, or one of ${ANYTHING_BUT_MATCHERS.join(', ')}`);
      }
      this.string(value, `${at}.${op}`);
      return;
    }
    throw this.fail(`${at} takes a value, a list of values, or one of ${ANYTHING_BUT_MATCHERS.join(', ')}`);
  }

  private numeric(arg: unknown, at: string): void {
    if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4))
      throw this.fail(`${at} must be [op, number] or [op, number, op, number]`);
    const ops: string[] = [];
    for (let i = 0; i < arg.length; i += 2) {
      const op = arg[i];
      if (!(NUMERIC_OPS as readonly unknown[]).includes(op)) throw this.fail(`${at}[${i}] must be one of ${NUMERIC_OPS.join(' ')}`);
      this.number(arg[i + 1], `${at}[${i + 1}]`);
      ops.push(op as string);
    }
    if (ops.length === 2) {
      const lower = ops[0]!.startsWith('>');
      if (ops.includes('=') || lower === ops[1]!.startsWith('>'))
        throw this.fail(`${at}: a range needs one lower bound (> or >=) and one upper bound (< or <=)`);
      const [lo, hi] = lower ? [arg[1], arg[3]] : [arg[3], arg[1]];
      if (!(lo < hi)) throw this.fail(`${at}: the lower bound must be below the upper bound`);
    }
  }
}

/**
 * Checks a filter policy as SNS does at Subscribe time and returns it as an object (a JSON string
 * is parsed). Errors are BAD_USER_INPUT on `field`, the message naming the part of the policy.
 */
export function parseFilterPolicy(input: unknown, scope: FilterPolicyScope, field: string): FilterPolicy {
  const fail = (message: string) => badInput(field, message);
  const tooLarge = (text: string) => Buffer.byteLength(text) > FilterPolicyLimits.bytes;
  const sizeError = () => fail(`must be at most ${FilterPolicyLimits.bytes} bytes`);
  let policy = input;
  if (typeof input === 'string') {
    if (tooLarge(input)) throw sizeError();
    try {
      policy = JSON.parse(input);
    } catch {
      throw fail('is not valid JSON');
    }
  }
  new PolicyChecker(scope, fail).object(policy, '', 1);
  // sized after the check: JSON.stringify recurses, and only a checked policy's depth is bounded
  if (typeof input !== 'string' && tooLarge(JSON.stringify(policy))) throw sizeError();
  return policy as FilterPolicy;
}

// ---- matching ----

/** A message attribute as published: SNS types String, String.Array, Number, Binary. */
export interface MessageAttributeValue {
  dataType: string;
  stringValue?: string | null;
  binaryValue?: string | null;
}

const round5 = (n: number) => Math.round(n * 1e5);
const numEq = (a: number, b: number) => round5(a) === round5(b);

function matchesNumeric(range: unknown[], n: number): boolean {
  for (let i = 0; i < range.length; i += 2) {
    const bound = range[i + 1] as number;
    const ok = {
      '=': numEq(n, bound),
      '<': n < bound,
      '<=': n <= bound || numEq(n, bound),
      '>': n > bound,
      '>=': n >= bound || numEq(n, bound),
    }[range[i] as (typeof NUMERIC_OPS)[number]];
    if (!ok) return false;
  }
  return true;
}

function equalsValue(literal: unknown, v: Primitive): boolean {
  if (typeof literal === 'number') return typeof v === 'number' && numEq(literal, v);
  return literal === v;
}

/** One condition against one value of the key (the key is present). */
function matchesValue(cond: unknown, v: Primitive): boolean {
  if (cond === null || typeof cond !== 'object') return equalsValue(cond, v);
  const [op, arg] = Object.entries(cond)[0]!;
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && v.startsWith(arg as string);
    case 'suffix':
      return typeof v === 'string' && v.endsWith(arg as string);
    case 'equals-ignore-case':
      return typeof v === 'string' && v.toLowerCase() === (arg as string).toLowerCase();
    case 'numeric':
      return typeof v === 'number' && matchesNumeric(arg as unknown[], v);
    case 'anything-but': {
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) {
        const [m, s] = Object.entries(arg)[0]! as [string, string];
        if (typeof v !== 'string') return false;
        if (m === 'prefix') return !v.startsWith(s);
        if (m === 'suffix') return !v.endsWith(s);
        return v.toLowerCase() !== s.toLowerCase();
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return v !== null && !excluded.some((x) => equalsValue(x, v));
    }
    default:
      return false;
  }
}

const isPresent = (values: Primitive[] | undefined) => values?.some((v) => v !== null && v !== '') ?? false;

/** A key's condition list against the key's values (undefined: the message has no such key). */
function matchesKey(conditions: unknown[], values: Primitive[] | undefined, messageHasKeys: boolean): boolean {
  return conditions.some((cond) => {
    if (cond !== null && typeof cond === 'object' && 'exists' in cond) {
      // SNS: `exists: false` matches only a message that has some attributes (or body keys) at all
      return (cond as { exists: boolean }).exists ? isPresent(values) : !isPresent(values) && messageHasKeys;
    }
    return values?.some((v) => matchesValue(cond, v)) ?? false;
  });
}

/** What a message looks like to the matcher: the values under a key, and nested objects. */
interface MessageView {
  values(key: string): Primitive[] | undefined;
  children(key: string): MessageView[];
  hasKeys: boolean;
}

function matchesPolicy(policy: FilterPolicy, message: MessageView): boolean {
  return Object.entries(policy).every(([key, spec]) => {
    if (key === '$or') return (spec as FilterPolicy[]).some((sub) => matchesPolicy(sub, message));
    if (Array.isArray(spec)) return matchesKey(spec, message.values(key), message.hasKeys);
    // a nested policy: some nested object (an object, or an object in a list) matches it
    const children = message.children(key);
    if (children.length === 0) return matchesPolicy(spec as FilterPolicy, { ...emptyView, hasKeys: message.hasKeys });
    return children.some((child) => matchesPolicy(spec as FilterPolicy, child));
  });
}

const emptyView: MessageView = { values: () => undefined, children: () => [], hasKeys: false };

const isPrimitive = (v: unknown): v is Primitive => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function bodyView(doc: Record<string, unknown>): MessageView {
  return {
    hasKeys: Object.keys(doc).length > 0,
    values(key) {
      if (!Object.hasOwn(doc, key)) return undefined;
      const v = doc[key];
      if (Array.isArray(v)) return v.filter(isPrimitive);
      return isPrimitive(v) ? [v] : [];
    },
    children(key) {
      const v = doc[key];
      const list = Array.isArray(v) ? v : [v];
      return list.filter(isObject).map(bodyView);
    },
  };
}

/** The values SNS filters on: String as a string, Number as a number, String.Array's elements; Binary is never matched. */
function attributeValues(attr: MessageAttributeValue): Primitive[] | undefined {
  const type = attr.dataType.split('.')[0];
  const s = attr.stringValue ?? '';
  if (attr.dataType === 'String.Array') {
    try {
      const list = JSON.parse(s) as unknown;
      return Array.isArray(list) ? list.filter(isPrimitive) : undefined;
    } catch {
      return undefined;
    }
  }
  if (type === 'Number') return [Number(s)];
  if (type === 'String') return [s];
  return undefined;
}

export function matchesAttributes(policy: FilterPolicy, attributes: Record<string, MessageAttributeValue>): boolean {
  const view: MessageView = {
    hasKeys: Object.keys(attributes).length > 0,
    values: (key) => (Object.hasOwn(attributes, key) ? attributeValues(attributes[key]!) : undefined),
    children: () => [],
  };
  return matchesPolicy(policy, view);
}

/** A MessageBody policy matches only a message that is a JSON object (an empty policy matches anything). */
export function matchesBody(policy: FilterPolicy, message: string): boolean {
  if (Object.keys(policy).length === 0) return true;
  let doc: unknown;
  try {
    doc = JSON.parse(message);
  } catch {
    return false;
  }
  return isObject(doc) && matchesPolicy(policy, bodyView(doc));
}

export function matchesFilterPolicy(
  policy: FilterPolicy | null,
  scope: FilterPolicyScope,
  message: { body: string; attributes: Record<string, MessageAttributeValue> },
): boolean {
  if (!policy) return true;
  return scope === 'MessageBody' ? matchesBody(policy, message.body) : matchesAttributes(policy, message.attributes);
}
