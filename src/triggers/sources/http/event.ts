// The API Gateway HTTP API payload format 2.0 event a function gets for an HTTP trigger request
// (AWS docs: http-api-develop-integrations-lambda). Empty parts are left out as API
// Gateway leaves them out (no cookies, query, body or path parameters → no such field).
import { isUtf8 } from 'node:buffer';
import { ACCOUNT } from '../../../platform/aws-account.js';

/** What the event needs from the request (a node:http IncomingMessage has all of it). */
export interface RequestInfo {
  method: string;
  /** the path after the /http prefix, still percent-encoded, and the raw query string */
  rawPath: string;
  rawQueryString: string;
  /** node's rawHeaders: name, value, name, value… as received */
  rawHeaders: string[];
  httpVersion: string;
  sourceIp: string;
  /** the port the request reached this server on (x-forwarded-port) */
  localPort: number;
}

export interface EventContext {
  requestId: string;
  /** the trigger's id: API Gateway's apiId */
  apiId: string;
  routeKey: string;
  pathParameters: Record<string, string>;
  now: Date;
  /** who called a route with API_KEY auth (requestContext.authorizer.apiKey) */
  apiKey?: { keyId: string; name: string } | null;
  /** header names (lower case) the function must not see, e.g. the API key's Authorization */
  dropHeaders?: readonly string[];
}

// Bodies of these types reach the function as UTF-8 text (when they are valid UTF-8); anything
// else, or no Content-Type at all, as base64 with isBase64Encoded: true.
const TEXT_TYPES =
  /^(text\/[^;]+|application\/(json|[^;]+\+json|xml|[^;]+\+xml|javascript|x-www-form-urlencoded|graphql|x-ndjson|ndjson|yaml|x-yaml))\s*(;.*)?$/i;

const isTextContentType = (contentType: string | undefined) => !!contentType && TEXT_TYPES.test(contentType.trim());

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `12/Mar/2020:19:03:58 +0000`, API Gateway's requestContext.time */
export function apiGatewayTime(d: Date): string {
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

// Hop-by-hop headers (RFC 9110 7.6.1, and the proxy ones in common use): they describe this one
// connection, and API Gateway, a proxy, does not pass them on.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Lower-case names; repeated headers joined with commas; Cookie goes to `cookies` instead;
 * hop-by-hop headers (and those the Connection header names) are dropped.
 */
function headersOf(rawHeaders: string[], drop: readonly string[] | undefined) {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const connectionScoped = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) connectionScoped.add(token.trim().toLowerCase());
  }
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'cookie') {
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t) cookies.push(t);
      }
    } else if (!drop?.includes(name) && !HOP_BY_HOP.has(name) && !connectionScoped.has(name)) {
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
  }
  return { headers, cookies };
}

/**
 * The X-Forwarded-* headers API Gateway adds: the client's address appended to any chain the
 * request came with; the protocol and port this server was reached on, replacing what the request
 * said (as API Gateway does): a client can't tell a function it came over HTTPS, or by another port.
 */
function addForwardedHeaders(headers: Record<string, string>, sourceIp: string, localPort: number): void {
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(localPort);
}

/**
 * A lower-case DNS name whose last label starts with a letter, or a dotted-quad IPv4 address, with
 * an optional port: what nearly every request's Host is, and what the URL parser leaves as it is
 * (it rewrites other numeric forms such as 127.1).
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const PLAIN_HOST = new RegExp(`^((?:[a-z0-9-]+\\.)*[a-z][a-z0-9-]*|(?:${OCTET}\\.){3}${OCTET})(?::\\d*)?$`);

/** The Host header's name without its port, as API Gateway's domainName ('localhost' without one). */
function hostnameOf(host: string | undefined): string {
  if (!host) return 'localhost';
  // the plain shape needs no URL parser (one per request is a measurable part of a trigger's cost)
  const plain = PLAIN_HOST.exec(host);
  if (plain) return plain[1]!;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host;
  }
}

function queryOf(raw: string): Record<string, string> | null {
  if (!raw) return null;
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = k in out ? `${out[k]},${v}` : v;
    any = true;
  }
  return any ? out : null;
}

export function buildHttpEvent(req: RequestInfo, body: Buffer, ctx: EventContext): Record<string, unknown> {
  const { headers, cookies } = headersOf(req.rawHeaders, ctx.dropHeaders);
  const sourceIp = req.sourceIp.startsWith('::ffff:') ? req.sourceIp.slice(7) : req.sourceIp;
  addForwardedHeaders(headers, sourceIp, req.localPort);
  const domainName = hostnameOf(headers.host);
  const query = queryOf(req.rawQueryString);
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: ctx.routeKey,
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
  };
  if (cookies.length) event.cookies = cookies;
  event.headers = headers;
  if (query) event.queryStringParameters = query;
  event.requestContext = {
    accountId: ACCOUNT,
    apiId: ctx.apiId,
    ...(ctx.apiKey ? { authorizer: { apiKey: { keyId: ctx.apiKey.keyId, name: ctx.apiKey.name } } } : {}),
    domainName,
    domainPrefix: domainName.split('.')[0]!,
    http: {
      method: req.method,
      path: req.rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: ctx.requestId,
    routeKey: ctx.routeKey,
    stage: '$default',
    time: apiGatewayTime(ctx.now),
    timeEpoch: ctx.now.getTime(),
  };
  const text = body.length === 0 || (isTextContentType(headers['content-type']) && isUtf8(body));
  if (body.length > 0) event.body = text ? body.toString('utf8') : body.toString('base64');
  if (Object.keys(ctx.pathParameters).length) event.pathParameters = ctx.pathParameters;
  event.isBase64Encoded = !text;
  return event;
}
