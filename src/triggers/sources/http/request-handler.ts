// The HTTP trigger front door: requests to /http<path> on the main port, routed by the in-memory
// route table (no database read to route), checked (auth, CORS preflight, body size), turned into
// an API Gateway payload 2.0 event, invoked synchronously and mapped back to an HTTP response.
// It is a plain node:http handler in front of Express: nothing in the request path that a
// function's response time would pay for.
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Logger } from 'pino';
import { isAllowed, type Authenticate } from '../../../platform/authorization.js';
import { AppError } from '../../../platform/errors.js';
import { HTTP_TRIGGER_PREFIX, type HttpRoute, type HttpRouteService } from './route-table.js';
import { corsResponseHeaders, preflightHeaders } from './cors.js';
import { buildHttpEvent } from './event.js';
import { replyFor, Replies, type HttpReply } from './result.js';
import { StreamedReply } from './stream-reply.js';
import { PayloadLimits, type InvocationService, type InvokeResult } from '../../../functions/invocations.js';

const INVOKE_HTTP_ACTION = 'triggers:InvokeHttp';

/** true for `/http`, `/http/…` and `/http?…` */
export function isHttpTriggerUrl(url: string | undefined): boolean {
  if (!url?.startsWith(HTTP_TRIGGER_PREFIX)) return false;
  const next = url.charCodeAt(HTTP_TRIGGER_PREFIX.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
}

// a client that sends nothing for this long while its body is read is dropped
const BODY_IDLE_MS = 60_000;

class BodyTooLarge extends Error {}
const EMPTY = Buffer.alloc(0);

const hasBody = (req: http.IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** The whole body, refused as soon as it passes `limit` bytes (declared or streamed). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.setTimeout(BODY_IDLE_MS, () => req.destroy(new Error('request body idle timeout')));
    const done = (err: Error | null) => {
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      req.setTimeout(0);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done(new BodyTooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => done(null);
    const onClose = () => {
      if (!req.complete) done(new Error('the client went away'));
    };
    req.on('data', onData).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

export function httpTriggerHandler(authenticate: Authenticate, invocations: InvocationService, routes: HttpRouteService, log: Logger) {
  const limit = PayloadLimits.syncBytes;

  function send(req: http.IncomingMessage, res: http.ServerResponse, reply: HttpReply, requestId: string, route: HttpRoute | null): void {
    // 204 and 304 have no body: a function's is dropped, and a Content-Length would misstate it
    const bodyless = reply.status === 204 || reply.status === 304;
    writeHead(req, res, reply, requestId, route, bodyless ? null : reply.body.length);
    res.end(bodyless ? undefined : reply.body);
  }

  /** The response's head; `length` null: no Content-Length (no body, or a streamed one). */
  function writeHead(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    reply: Omit<HttpReply, 'body'>,
    requestId: string,
    route: HttpRoute | null,
    length: number | null,
  ): void {
    if (reply.reason) {
      // a function's bad result or failure is for its developer to see in the log; refusals are routine
      log[reply.status >= 500 ? 'warn' : 'debug'](
        { requestId, route: route?.template.routeKey, trigger: route?.triggerName, status: reply.status, reason: reply.reason },
        'HTTP trigger: the platform answered',
      );
    }
    const headers: string[] = [];
    const cors = route?.cors ? corsResponseHeaders(route.cors, req.headers.origin) : null;
    for (const [k, v] of reply.headers) {
      // with CORS configured the route's settings decide the CORS headers (API Gateway ignores the function's)
      if (cors && k.startsWith('access-control-')) continue;
      headers.push(k, v);
    }
    if (cors) for (const [k, v] of cors) headers.push(k, v);
    if (length !== null) headers.push('content-length', String(length));
    headers.push('apigw-requestid', requestId);
    // a body we did not read (refused early) is not worth reading: close the connection instead
    if (!req.complete && hasBody(req)) headers.push('connection', 'close');
    res.writeHead(reply.status, headers);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = crypto.randomUUID();
    const url = req.url!;
    const q = url.indexOf('?');
    const rawPath = (q < 0 ? url : url.slice(0, q)).slice(HTTP_TRIGGER_PREFIX.length) || '/';
    const rawQueryString = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';

    const preflightMethod = method === 'OPTIONS' && req.headers.origin ? req.headers['access-control-request-method'] : undefined;
    if (preflightMethod) {
      const target = routes.match(preflightMethod.toUpperCase(), rawPath);
      if (target?.route.cors) {
        const headers = preflightHeaders(
          target.route.cors,
          req.headers.origin!,
          preflightMethod,
          req.headers['access-control-request-headers'],
        );
        send(req, res, { status: 204, headers, body: Buffer.alloc(0) }, requestId, null);
        return;
      }
    }
    const match = routes.match(method, rawPath);
    if (!match) return send(req, res, Replies.notFound(), requestId, null);
    const { route } = match;
    let apiKey: { keyId: string; name: string } | null = null;
    if (route.auth === 'API_KEY') {
      const principal = await authenticate(req.headers.authorization);
      if (!principal) return send(req, res, Replies.unauthorized(), requestId, route);
      if (!isAllowed(principal, INVOKE_HTTP_ACTION)) return send(req, res, Replies.forbidden(), requestId, route);
      apiKey = { keyId: principal.keyId, name: principal.name };
    }
    let body: Buffer;
    try {
      body = hasBody(req) ? await readBody(req, limit) : EMPTY;
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(req, res, Replies.tooLarge(limit), requestId, route);
      return; // the client went away or stalled: nobody to answer
    }
    const event = buildHttpEvent(
      {
        method,
        rawPath,
        rawQueryString,
        rawHeaders: req.rawHeaders,
        httpVersion: req.httpVersion,
        sourceIp: req.socket.remoteAddress ?? '',
        localPort: req.socket.localPort ?? 0,
      },
      body,
      {
        requestId,
        apiId: route.triggerId,
        routeKey: route.template.routeKey,
        pathParameters: match.params,
        now: new Date(),
        apiKey,
        dropHeaders: route.auth === 'API_KEY' ? ['authorization'] : undefined,
      },
    );
    if (route.invokeMode === 'RESPONSE_STREAM') return stream(req, res, route, requestId, event);
    let reply: HttpReply;
    try {
      const result = await invocations.invoke({
        functionName: route.functionName,
        qualifier: route.qualifier,
        payload: event,
        trigger: { id: route.triggerId, eventId: requestId },
      });
      reply = replyFor({
        payload: result.payload,
        response: result.invocation.response,
        functionError: result.functionError,
        errorType: result.invocation.errorType,
      });
    } catch (err) {
      reply = replyForInvokeError(err);
      if (!(err instanceof AppError)) log.error({ err, requestId, trigger: route.triggerName }, 'HTTP trigger invocation failed');
    }
    send(req, res, reply, requestId, route);
  }

  /**
   * A RESPONSE_STREAM function URL (stream-reply.ts): a streamified function's bytes go out as it
   * writes them; a function that answers in one piece is answered as a buffered URL would be.
   */
  async function stream(req: http.IncomingMessage, res: http.ServerResponse, route: HttpRoute, requestId: string, event: unknown) {
    const streamed = new StreamedReply(
      res,
      (head) => writeHead(req, res, head, requestId, route, null),
      (reply) => send(req, res, reply, requestId, route),
    );
    let result: InvokeResult;
    try {
      result = await invocations.invoke({
        functionName: route.functionName,
        qualifier: route.qualifier,
        payload: event,
        trigger: { id: route.triggerId, eventId: requestId },
        stream: streamed,
      });
    } catch (err) {
      if (!(err instanceof AppError)) log.error({ err, requestId, trigger: route.triggerName }, 'HTTP trigger invocation failed');
      if (streamed.headersSent) res.destroy();
      else send(req, res, replyForInvokeError(err), requestId, route);
      return;
    }
    const failed = result.functionError !== null;
    if (result.streamContentType !== null && !streamed.began) {
      // streamed on a joined host, whose instances keep the bytes (its response came whole)
      streamed.start(result.streamContentType);
      await streamed.write(Buffer.from(result.invocation.response ?? ''));
    }
    if (result.streamContentType !== null && (!failed || streamed.headersSent)) return streamed.end(failed);
    const reply = replyFor({
      payload: result.payload,
      response: result.invocation.response,
      functionError: result.functionError,
      errorType: result.invocation.errorType,
    });
    send(req, res, reply, requestId, route);
  }

  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err) => {
      log.error({ err }, 'HTTP trigger request failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
        res.end('{"message":"Internal Server Error"}');
      } else res.destroy();
    });
  };
}

/** Invoke's refusals, as API Gateway reports a Lambda integration's. */
function replyForInvokeError(err: unknown): HttpReply {
  if (!(err instanceof AppError)) return Replies.internal();
  switch (err.code) {
    case 'THROTTLED':
      return Replies.throttled(err.message);
    case 'PAYLOAD_TOO_LARGE':
      return Replies.tooLarge(PayloadLimits.syncBytes);
    // the route exists but what it invokes does not (an alias or version deleted since): the
    // integration is broken, as API Gateway reports a missing Lambda
    case 'NOT_FOUND':
      return Replies.internal(err.message);
    // the function exists but can't run now (Pending, Failed, Inactive)
    case 'CONFLICT':
      return Replies.unavailable(err.message);
    default:
      return Replies.internal(err.message);
  }
}
