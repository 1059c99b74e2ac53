import crypto from 'node:crypto';
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { createContext, type ResolverInstances } from '../graphql/context.js';
import { KeyRateLimiter, type FieldRates } from '../graphql/rate-limits.js';
import type { Authenticate, Principal } from '../authorization.js';
import { AppError } from '../errors.js';
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

function unauthenticated(): GraphQLError {
  const original = new AppError('UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>');
  return new GraphQLError(original.message, { originalError: original });
}

// how long a stop waits for in-flight requests before it cuts their connections
const STOP_GRACE_MS = 10_000;

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

  const socketsByKey = new Map<string, Set<WebSocket>>();
  const wsServer = useServer<
    { authorization?: string; Authorization?: string },
    { principal: Principal | null; connectionId: string; header?: string }
  >(
    {
      schema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        ctx.extra.header = typeof header === 'string' ? header : undefined;
        ctx.extra.principal = await authenticate(ctx.extra.header);
        // no valid key: graphql-ws closes the socket with 4403 Forbidden (the README's WebSocket auth)
        if (!ctx.extra.principal) return false;
        ctx.extra.connectionId = crypto.randomUUID();
        const keyId = ctx.extra.principal?.keyId;
        if (keyId) {
          let set = socketsByKey.get(keyId);
          if (!set) socketsByKey.set(keyId, (set = new Set()));
          set.add(ctx.extra.socket);
          ctx.extra.socket.once('close', () => {
            set!.delete(ctx.extra.socket);
            if (set!.size === 0 && socketsByKey.get(keyId) === set) socketsByKey.delete(keyId);
          });
        }
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // the key is checked again for every operation: a revoked key stops working on open sockets too
        ctx.extra.principal = await authenticate(ctx.extra.header);
        if (!ctx.extra.principal) return [unauthenticated()];
        const parsed = documents.get(payload.query);
        if ('errors' in parsed) return [...parsed.errors];
        try {
          checkVariables(payload.variables);
        } catch (err) {
          return [new GraphQLError((err as Error).message, { originalError: err as Error })];
        }
        return { schema, document: parsed.document, operationName: payload.operationName, variableValues: payload.variables };
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
    for (const socket of socketsByKey.get(keyId) ?? []) socket.close(4403, 'API key revoked');
    socketsByKey.delete(keyId);
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
