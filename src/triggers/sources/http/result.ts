// From a function's result to the HTTP response, with API Gateway's payload 2.0 rules: a result
// with a statusCode is a response `{statusCode, headers, multiValueHeaders, cookies, body,
// isBase64Encoded}`; any other JSON value is a 200 application/json whose body is the value (a
// string as it is, anything else as JSON). A result that claims to be a response but isn't a valid
// one is a 502 whose reason goes to the server log (the caller sees no details of the function).

export interface HttpReply {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  /** why the platform answered instead of the function (for the server log) */
  reason?: string;
}

/** What an invocation produced (InvokeResult's fields). */
export interface FunctionOutcome {
  /** the parsed result (the raw text when it isn't JSON) */
  payload: unknown;
  /** the raw result document as the runtime posted it */
  response: string | null;
  functionError: string | null;
  errorType: string | null;
}

const JSON_TYPE = 'application/json';

function messageReply(status: number, message: string, reason?: string): HttpReply {
  return { status, headers: [['content-type', JSON_TYPE]], body: Buffer.from(JSON.stringify({ message })), reason };
}

export const Replies = {
  notFound: () => messageReply(404, 'Not Found'),
  unauthorized: () => messageReply(401, 'Unauthorized'),
  forbidden: () => messageReply(403, 'Forbidden'),
  internal: (reason?: string) => messageReply(500, 'Internal Server Error', reason),
  badGateway: (reason: string) => messageReply(502, 'Bad Gateway', reason),
  unavailable: (reason: string) => messageReply(503, 'Service Unavailable', reason),
  timeout: (reason: string) => messageReply(504, 'Gateway Timeout', reason),
  throttled: (reason: string) => messageReply(429, 'Too Many Requests', reason),
  tooLarge: (limit: number) =>
    messageReply(
      413,
      `Request Entity Too Large: the event (request body included) must fit in the ${limit}-byte limit of a synchronous invocation`,
    ),
};

// the platform frames the response itself: these from a function would corrupt it
const HOP_BY_HOP = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'trailer',
  'te',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class InvalidResponse extends Error {}

function headerValue(v: unknown, where: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') throw new InvalidResponse(`${where} must be a string`);
  if (BAD_VALUE.test(v)) throw new InvalidResponse(`${where} has characters not allowed in a header value`);
  return v;
}

function headerName(name: string, where: string): string {
  if (!HEADER_NAME.test(name)) throw new InvalidResponse(`${where}: "${name.slice(0, 60)}" is not a valid header name`);
  return name.toLowerCase();
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function structured(doc: Record<string, unknown>): HttpReply {
  const { statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded } = doc;
  // 1xx are interim answers, not a response: sent as one they leave the client waiting or broken
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
    throw new InvalidResponse(`statusCode must be an integer from 200 to 599 (got ${JSON.stringify(statusCode)?.slice(0, 60)})`);
  }
  const out: Array<[string, string]> = [];
  if (headers != null) {
    if (!isObject(headers)) throw new InvalidResponse('headers must be an object of strings');
    for (const [k, v] of Object.entries(headers)) {
      const name = headerName(k, 'headers');
      const value = headerValue(v, `headers.${k}`);
      if (!HOP_BY_HOP.has(name)) out.push([name, value]);
    }
  }
  if (multiValueHeaders != null) {
    if (!isObject(multiValueHeaders)) throw new InvalidResponse('multiValueHeaders must be an object of string lists');
    for (const [k, list] of Object.entries(multiValueHeaders)) {
      const name = headerName(k, 'multiValueHeaders');
      if (!Array.isArray(list)) throw new InvalidResponse(`multiValueHeaders.${k} must be a list of strings`);
      list.forEach((v, i) => {
        const value = headerValue(v, `multiValueHeaders.${k}.${i}`);
        if (!HOP_BY_HOP.has(name)) out.push([name, value]);
      });
    }
  }
  if (cookies != null) {
    if (!Array.isArray(cookies)) throw new InvalidResponse('cookies must be a list of strings');
    cookies.forEach((c, i) => {
      if (typeof c !== 'string') throw new InvalidResponse(`cookies.${i} must be a string`);
      out.push(['set-cookie', headerValue(c, `cookies.${i}`)]);
    });
  }
  if (isBase64Encoded != null && typeof isBase64Encoded !== 'boolean') throw new InvalidResponse('isBase64Encoded must be a boolean');
  let bytes: Buffer;
  if (body == null) bytes = Buffer.alloc(0);
  else if (typeof body !== 'string')
    throw new InvalidResponse(`body must be a string (got ${Array.isArray(body) ? 'a list' : typeof body}); JSON.stringify it`);
  else if (isBase64Encoded) {
    if (!BASE64.test(body)) throw new InvalidResponse('body is not valid base64 although isBase64Encoded is true');
    bytes = Buffer.from(body, 'base64');
  } else bytes = Buffer.from(body);
  return { status: statusCode, headers: out, body: bytes };
}

/**
 * The status and headers of a streamed response, from the metadata prelude a function writes with
 * awslambda.HttpResponseStream.from (`{statusCode, headers, cookies}` as JSON; statusCode 200 when absent).
 */
export function preludeReply(text: string): HttpReply {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return Replies.badGateway("the function's response stream metadata is not JSON");
  }
  if (!isObject(doc)) return Replies.badGateway("the function's response stream metadata is not an object");
  try {
    return structured({ ...doc, statusCode: doc.statusCode ?? 200, body: null, isBase64Encoded: null });
  } catch (err) {
    if (err instanceof InvalidResponse) return Replies.badGateway(`the function's response stream metadata is not valid: ${err.message}`);
    throw err;
  }
}

/** The head of a streamed response of any other Content-Type: a 200 of that type (a value no header may carry is a 502). */
export function streamedHead(contentType: string): HttpReply {
  try {
    return { status: 200, headers: [['content-type', headerValue(contentType, 'Content-Type')]], body: Buffer.alloc(0) };
  } catch (err) {
    if (err instanceof InvalidResponse) return Replies.badGateway(`the function's response stream ${err.message}`);
    throw err;
  }
}

export function replyFor(outcome: FunctionOutcome): HttpReply {
  if (outcome.functionError) {
    if (outcome.errorType === 'Sandbox.Timedout') return Replies.timeout('the function timed out');
    if (outcome.errorType === 'Function.ResponseSizeTooLarge') return Replies.badGateway("the function's response is over the 6 MB limit");
    return Replies.internal(`the function failed: ${outcome.errorType ?? 'Unhandled'}`);
  }
  const { payload, response } = outcome;
  // invoke hands back the raw text itself when it isn't JSON; a JSON string result never equals its
  // own quoted source
  if (typeof payload === 'string' && payload === response) return Replies.badGateway("the function's result is not JSON");
  if (isObject(payload) && 'statusCode' in payload) {
    try {
      return structured(payload);
    } catch (err) {
      if (err instanceof InvalidResponse) return Replies.badGateway(`the function's result is not a valid HTTP response: ${err.message}`);
      throw err;
    }
  }
  const body = typeof payload === 'string' ? payload : (response ?? JSON.stringify(payload ?? null));
  return { status: 200, headers: [['content-type', JSON_TYPE]], body: Buffer.from(body) };
}
