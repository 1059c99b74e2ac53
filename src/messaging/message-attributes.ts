// Message attributes of queue messages (SQS) and topic publishes (SNS), and message bodies: the
// checks both services share, with their limits.
import crypto from 'node:crypto';
import type { MessageAttribute } from './tables.js';
import { badInput } from '../platform/errors.js';

export const MessageLimits = { bodyBytes: 256 * 1024, attributes: 10, nameLength: 256, dataTypeLength: 256 } as const;

export interface MessageAttributeInput {
  name: string;
  dataType: string;
  stringValue?: string | null;
  binaryValue?: string | null;
}

// characters SQS accepts in a message (XML 1.0's): no NUL or other C0 controls but tab, LF and CR, no lone surrogates
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The body's characters; its size is checked together with the attributes (`messageBytes`). */
export function requireBody(body: string, field: string): string {
  if (body.length === 0) throw badInput(field, 'must not be empty');
  const bad = FORBIDDEN_CHARS.exec(body);
  if (bad)
    throw badInput(
      field,
      `contains a character messages may not carry (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`,
    );
  return body;
}

/**
 * Checks message attributes: at most 10, unique valid names, a data type of the service's kinds (with
 * an optional custom `.label` as SQS allows), a value of that type. SNS adds String.Array (a JSON list).
 */
export function requireMessageAttributes(
  list: readonly MessageAttributeInput[] | null | undefined,
  field: string,
  service: 'sqs' | 'sns',
): MessageAttribute[] {
  const attrs = list ?? [];
  if (attrs.length > MessageLimits.attributes) throw badInput(field, `must have at most ${MessageLimits.attributes} attributes`);
  const seen = new Set<string>();
  return attrs.map((a, i) => {
    const at = `${field}.${i}`;
    const name = a.name;
    if (
      !name ||
      name.length > MessageLimits.nameLength ||
      !/^[A-Za-z0-9_.-]+$/.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..')
    ) {
      throw badInput(
        `${at}.name`,
        `must be 1-${MessageLimits.nameLength} characters of A-Z a-z 0-9 _ - . (no leading, trailing or double period)`,
      );
    }
    if (/^(aws\.|amazon\.)/i.test(name)) throw badInput(`${at}.name`, 'must not start with AWS. or Amazon. (reserved)');
    if (seen.has(name)) throw badInput(`${at}.name`, `repeats the attribute ${name}`);
    seen.add(name);
    const dataType = a.dataType;
    const base = dataType.split('.')[0]!;
    const custom = dataType.length > base.length;
    const isStringArray = dataType === 'String.Array';
    const kinds = service === 'sns' ? 'String, String.Array, Number or Binary' : 'String, Number or Binary (optionally with a .label)';
    if (
      dataType.length > MessageLimits.dataTypeLength ||
      !['String', 'Number', 'Binary'].includes(base) ||
      (custom && service === 'sns' && !isStringArray) ||
      (custom && !/^[A-Za-z]+\.[A-Za-z0-9_.-]+$/.test(dataType))
    ) {
      throw badInput(`${at}.dataType`, `must be ${kinds}`);
    }
    if (base === 'Binary') {
      if (a.stringValue != null) throw badInput(`${at}.stringValue`, 'a Binary attribute takes binaryValue');
      if (!a.binaryValue || !BASE64.test(a.binaryValue)) throw badInput(`${at}.binaryValue`, 'must be non-empty base64');
      return { name, dataType, stringValue: null, binaryValue: a.binaryValue };
    }
    if (a.binaryValue != null) throw badInput(`${at}.binaryValue`, `a ${base} attribute takes stringValue`);
    const value = a.stringValue;
    if (value == null || value === '') throw badInput(`${at}.stringValue`, 'must not be empty');
    requireBody(value, `${at}.stringValue`);
    if (base === 'Number' && !NUMBER.test(value.trim())) throw badInput(`${at}.stringValue`, 'must be a number');
    if (isStringArray) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        /* refused below */
      }
      if (!Array.isArray(parsed) || parsed.some((v) => v !== null && typeof v === 'object')) {
        throw badInput(`${at}.stringValue`, 'a String.Array is a JSON list of strings, numbers, true, false or null');
      }
    }
    return { name, dataType, stringValue: value, binaryValue: null };
  });
}

/** A message's size as SQS and SNS count it: the body and every attribute's name, type and value. */
export function messageBytes(body: string, attributes: readonly MessageAttribute[]): number {
  let bytes = Buffer.byteLength(body);
  for (const a of attributes) {
    bytes +=
      Buffer.byteLength(a.name) +
      Buffer.byteLength(a.dataType) +
      (a.binaryValue !== null ? Buffer.from(a.binaryValue, 'base64').length : Buffer.byteLength(a.stringValue ?? ''));
  }
  return bytes;
}

/**
 * SQS's MD5OfMessageAttributes: the MD5 hex of the attributes sorted by name, each encoded as its
 * name, data type (each 4-byte length-prefixed), a transport byte (1 string, 2 binary) and the
 * length-prefixed value bytes. Null without attributes.
 */
export function md5OfMessageAttributes(attributes: readonly MessageAttribute[]): string | null {
  if (attributes.length === 0) return null;
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  const parts: Buffer[] = [];
  for (const a of [...attributes].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    parts.push(...prefixed(Buffer.from(a.name)), ...prefixed(Buffer.from(a.dataType)));
    if (a.binaryValue !== null) parts.push(Buffer.from([2]), ...prefixed(Buffer.from(a.binaryValue, 'base64')));
    else parts.push(Buffer.from([1]), ...prefixed(Buffer.from(a.stringValue ?? '')));
  }
  return crypto.createHash('md5').update(Buffer.concat(parts)).digest('hex');
}
