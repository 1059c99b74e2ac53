import crypto from 'node:crypto';
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type ExecutionResult, GraphQLError, type GraphQLSchema, getOperationAST } from 'graphql';
import type { Context } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createContext, type ResolverInstances } from '../graphql/context.js';
import { KeyRateLimiter, type FieldRates } from '../graphql/rate-limits.js';
import type { Authenticate, Principal } from '../authorization.js';
import { AppError, badInput } from '../errors.js';
import type { HttpSurface } from '../module.js';
import { Channel } from '../notifications/channels.js';
import type { ChannelOwner } from '../notifications/listener.js';
import { formatError } from './errors.js';
import { consoleRoutes } from './console.js';
import { explorerRoutes } from './explorer.js';
import { checkVariables } from './document-limits.js';
import { HttpDrain } from './drain.js';
import { armRequestDeadline, GraphqlOverHttp, sendPlainError } from './graphql-over-http.js';
import { QueryCoalescer } from './query-coalescing.js';
import { DocumentCache, sharedSubscribe } from './subscription-execution.js';

export interface HttpOptions {
  introspection: boolean;
  /** serve the GraphiQL explorer at GET /graphql */
  explorer: boolean;
  /** serve the web console at GET / */
  console: boolean;
  fieldRates: FieldRates;
  bodyLimitBytes: number;
  /** what one API key may hold open over WebSocket on this server */
  sockets: SocketLimits;
}

/**
 * Bounds on what one API key holds open over WebSocket on one server. Every live subscription
 * holds server memory and a share of the feeds' fan-out until its client leaves, so a key (a
 * leaked one, or a buggy client that subscribes in a loop) must not be able to open them without end.
 */
export interface SocketLimits {
  connectionsPerKey: number;
  /** subscriptions, and queries/mutations while they run, at once on one connection */
  operationsPerConnection: number;
  /** the same, across all of one key's connections */
  operationsPerKey: number;
}

/** What the API server serves besides the schema, from the modules and the platform. */
export interface ApiParts {
  /** every module's resolver objects (type-graphql's container) */
  resolvers: ResolverInstances;
  /** the modules' HTTP surfaces */
  surfaces: readonly HttpSurface[];
  authenticate: Authenticate;
  /** whether the database answers (GET /healthz) */
  healthy(): Promise<boolean>;
}

export interface HttpServer extends ChannelOwner {
  server: http.Server;
  /** stop accepting, finish in-flight requests, close subscriptions */
  close(): Promise<void>;
  /** a key was revoked: WebSocket connections made with it are closed (their subscriptions end) */
  revokeKey(keyId: string): void;
}

const requestIdOf = (header: unknown) => (typeof header === 'string' && /^[\w.-]{1,64}$/.test(header) ? header : crypto.randomUUID());

const clientError = (original: AppError) => new GraphQLError(original.message, { originalError: original });

const unauthenticated = () => clientError(new AppError('UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>'));

/** the operations a connection holds: those starting and the subscriptions running */
const heldBy = (connection: { extra: Partial<Pick<ConnectionExtra, 'starting' | 'running'>> }) =>
  (connection.extra.starting?.size ?? 0) + (connection.extra.running?.size ?? 0);

const isAsyncIterable = (value: unknown): boolean =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/**
 * A subscription's iterator that leaves `running` when it ends or is returned. graphql-ws forgets an
 * operation when its client completes it, even one still starting, so a later subscribe with the same
 * id, refused or not, can take the id's place in graphql-ws's list while the first starts running:
 * graphql-ws then neither counts it nor ends it with the socket. The connection's own list does both.
 */
function tracked<T>(iterable: AsyncIterable<T>, running: Set<AsyncIterator<unknown>>): AsyncGenerator<T> {
  const inner = iterable[Symbol.asyncIterator]();
  const leave = <R>(r: IteratorResult<T, R>) => {
    if (r.done) running.delete(wrapper);
    return r;
  };
  const wrapper: AsyncGenerator<T> = {
    next: () => inner.next().then(leave),
    return: (value) => {
      running.delete(wrapper);
      return inner.return ? inner.return(value).then(leave) : Promise.resolve({ done: true, value });
    },
    throw: (err) => {
      running.delete(wrapper);
      return inner.throw ? inner.throw(err).then(leave) : Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  running.add(wrapper);
  return wrapper;
}

/** RFC 6455's "Try Again Later": the server is refusing more work from this client for now */
const TRY_AGAIN_LATER = 1013;

// how long a stop waits for in-flight requests before it cuts their connections
const STOP_GRACE_MS = 10_000;

type ConnectionParams = { authorization?: string; Authorization?: string };
type ConnectionExtra = {
  principal: Principal | null;
  connectionId: string;
  header?: string;
  /** the ids of the connection's operations, from their subscribe message until they end */
  operations: Set<string>;
  /** the ids of operations being checked and started: from their subscribe message until they run */
  starting: Set<string>;
  /** the connection's running subscriptions: ended with the socket */
  running: Set<AsyncIterator<unknown>>;
};

export async function createHttpServer(schema: GraphQLSchema, parts: ApiParts, log: Logger, options: HttpOptions): Promise<HttpServer> {
  const { resolvers, surfaces, authenticate } = parts;
  const app = express();
  app.disable('x-powered-by');
  // API answers are not cached by validators: a weak ETag would hash every response body for nothing
  // (static files get theirs from serve-static, which does not read this setting)
  app.disable('etag');
  // plain handlers (the S3 endpoint, HTTP triggers' /http/…) go in front of Express
  const handlers = surfaces.flatMap((s) => s.handlers ?? []);
  const rateLimits = new KeyRateLimiter(options.fieldRates);
  // parse (token-limited), limits, validation: for WebSocket and HTTP operations
  const documents = new DocumentCache(schema);
  const graphql = new GraphqlOverHttp({
    schema,
    documents,
    coalescer: new QueryCoalescer(),
    introspection: options.introspection,
    bodyLimitBytes: options.bodyLimitBytes,
    authenticate,
    context: (requestId, principal) => createContext(log, requestId, principal, rateLimits, resolvers),
    rewriters: surfaces.flatMap((s) => (s.queryRewriter ? [s.queryRewriter] : [])),
    log,
  });

  // POST /graphql, the API's hot path, goes straight to its handler
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/graphql') {
      const id = requestIdOf(req.headers['x-request-id']);
      res.setHeader('x-request-id', id);
      return graphql.handle(req, res, id);
    }
    const handler = handlers.find((h) => h.owns(req));
    if (handler) handler.handle(req, res);
    else app(req, res);
  });
  const drain = new HttpDrain(server);
  // keep-alive longer than typical load balancer idle timeouts; shutdown drains them
  server.keepAliveTimeout = 65_000;
  // Node's requestTimeout (time to receive a whole request) is server-wide: Node 20 has no switch
  // per request, and an object upload may rightly take hours. So it is off here, /objects has an
  // idle timeout instead (objects-routes.ts), and every other route gets Node's deadline below.
  server.requestTimeout = 0;

  const graphqlWs = new WebSocketServer({ noServer: true, maxPayload: options.bodyLimitBytes });
  const endpoints = surfaces
    .flatMap((s) => s.sockets ?? [])
    .map((socket) => ({
      ...socket,
      wss: new WebSocketServer({ noServer: true, maxPayload: socket.maxPayloadBytes }),
    }));
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/graphql') {
      graphqlWs.handleUpgrade(req, socket, head, (ws) => graphqlWs.emit('connection', ws, req));
      return;
    }
    const endpoint = endpoints.find((e) => e.path === path);
    if (endpoint) endpoint.wss.handleUpgrade(req, socket, head, (ws) => endpoint.accept(ws, req.socket.remoteAddress ?? ''));
    else socket.destroy();
  });

  type Connection = Context<ConnectionParams, Extra & Partial<ConnectionExtra>>;
  // each key's open connections on this server: revoking the key closes them; the limits count them
  const connectionsByKey = new Map<string, Set<Connection>>();
  const limits = options.sockets;
  const wsServer = useServer<ConnectionParams, ConnectionExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        ctx.extra.header = typeof header === 'string' ? header : undefined;
        ctx.extra.principal = await authenticate(ctx.extra.header);
        // no valid key: graphql-ws closes the socket with 4403 Forbidden (the README's WebSocket auth)
        if (!ctx.extra.principal) return false;
        // the socket closed while the key was checked: its close has been and gone, nothing would take it off the key's list
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        ctx.extra.connectionId = crypto.randomUUID();
        const keyId = ctx.extra.principal.keyId;
        let connections = connectionsByKey.get(keyId);
        if (!connections) connectionsByKey.set(keyId, (connections = new Set()));
        if (connections.size >= limits.connectionsPerKey) {
          // closed before graphql-ws's own 4403 (which would say the key is wrong): the key is fine, it has too much open
          ctx.extra.socket.close(TRY_AGAIN_LATER, `at most ${limits.connectionsPerKey} WebSocket connections per API key`);
          return false;
        }
        ctx.extra.operations = new Set();
        ctx.extra.starting = new Set();
        ctx.extra.running = new Set();
        connections.add(ctx);
        ctx.extra.socket.once('close', () => {
          connections.delete(ctx);
          if (connections.size === 0 && connectionsByKey.get(keyId) === connections) connectionsByKey.delete(keyId);
          for (const subscription of ctx.extra.running ?? []) void subscription.return?.();
        });
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const operations = ctx.extra.operations!;
        // before any await: a second subscribe with this id arriving meanwhile is refused, not run beside it
        if (operations.has(id))
          return [
            clientError(
              new AppError(
                'BAD_USER_INPUT',
                `operation id ${JSON.stringify(id)} is in use on this connection until its operation ends`,
                'id',
              ),
            ),
          ];
        operations.add(id);
        const starting = ctx.extra.starting!;
        starting.add(id);
        const refused = (errors: readonly GraphQLError[]) => {
          operations.delete(id);
          starting.delete(id);
          return errors;
        };
        // the key is checked again for every operation: a revoked key stops working on open sockets too
        ctx.extra.principal = await authenticate(ctx.extra.header);
        if (!ctx.extra.principal) return refused([unauthenticated()]);
        // this one among them; one its client completed counts no more, though it may still be ending
        if (heldBy(ctx) > limits.operationsPerConnection)
          return refused([
            clientError(
              new AppError('THROTTLED', `at most ${limits.operationsPerConnection} subscriptions at once on one WebSocket connection`),
            ),
          ]);
        let ofKey = 0;
        for (const connection of connectionsByKey.get(ctx.extra.principal.keyId) ?? []) ofKey += heldBy(connection);
        if (ofKey > limits.operationsPerKey)
          return refused([clientError(new AppError('THROTTLED', `at most ${limits.operationsPerKey} subscriptions at once per API key`))]);
        const parsed = documents.get(payload.query);
        if ('errors' in parsed) return refused([...parsed.errors]);
        try {
          checkVariables(payload.variables);
        } catch (err) {
          return refused([new GraphQLError((err as Error).message, { originalError: err as Error })]);
        }
        // graphql-ws answers a document without this operation with an error but no end (onComplete)
        if (!getOperationAST(parsed.document, payload.operationName))
          return refused([
            clientError(badInput('operationName', 'names no operation of the document (or the document has several and none is named)')),
          ]);
        return { schema, document: parsed.document, operationName: payload.operationName, variableValues: payload.variables };
      },
      // graphql-ws hands over the result it awaited: a subscription's iterator, or a query's result
      onOperation: (ctx, id, _payload, _args, result) => {
        ctx.extra.starting?.delete(id);
        return isAsyncIterable(result) ? tracked(result as AsyncIterable<ExecutionResult>, ctx.extra.running!) : undefined;
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations?.delete(id);
        ctx.extra.starting?.delete(id);
      },
      subscribe: sharedSubscribe,
      context: (ctx, id) => createContext(log, `${ctx.extra.connectionId}/${id}`, ctx.extra.principal ?? null, rateLimits, resolvers),
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e, log, `${ctx.extra.connectionId}/${id}`)) };
      },
      onError: (ctx, id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e, log, `${ctx.extra.connectionId}/${id}`)),
    },
    graphqlWs,
  );

  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    (req as Request & { requestId: string }).requestId = id;
    next();
  });

  app.get('/healthz', async (_req, res) => {
    if (await parts.healthy()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: 'database unreachable' });
  });

  // routes that stream their bodies (object bytes): mounted before any body parser
  for (const { path, handler } of surfaces.flatMap((s) => s.routes ?? [])) app.use(path, handler);
  app.use((req, _res, next) => {
    armRequestDeadline(req);
    next();
  });
  if (options.explorer) app.use(explorerRoutes(log));
  if (options.console) app.use(consoleRoutes(log));

  // GraphQL GET requests, other methods and paths under /graphql (POST /graphql is served in front of Express)
  app.use('/graphql', (req: Request, res: Response) => graphql.handle(req, res, (req as Request & { requestId: string }).requestId));

  for (const fallback of surfaces.flatMap((s) => (s.fallback ? [s.fallback] : []))) app.use(fallback);
  app.use((_req: Request, res: Response) => sendPlainError(res, 404, 'NOT_FOUND', 'no such route'));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    log.error({ err, requestId: (req as Request & { requestId?: string }).requestId }, 'unhandled HTTP error');
    if (!res.headersSent) sendPlainError(res, 500, 'INTERNAL', 'Internal error');
  });

  const revokeKey = (keyId: string) => {
    for (const connection of connectionsByKey.get(keyId) ?? []) connection.extra.socket.close(4403, 'API key revoked');
    connectionsByKey.delete(keyId);
  };
  return {
    name: 'api server',
    server,
    revokeKey,
    // a key revoked on any server ends the subscriptions made with it here
    channels: { [Channel.apiKey]: revokeKey },
    async close() {
      // in-flight requests finish (10 s at most), subscriptions end
      await Promise.all([drain.stop(STOP_GRACE_MS), wsServer.dispose()]);
      graphqlWs.close();
      for (const endpoint of endpoints) endpoint.wss.close();
    },
  };
}
