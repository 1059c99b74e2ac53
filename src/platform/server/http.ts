import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { createContext, type Context, type ResolverInstances } from '../graphql/context.js';
import { KeyRateLimiter, type FieldRates } from '../graphql/rate-limits.js';
import type { Authenticate, Principal } from '../authorization.js';
import { AppError } from '../errors.js';
import type { HttpSurface } from '../module.js';
import { Channel } from '../notifications/channels.js';
import type { ChannelOwner } from '../notifications/listener.js';
import { formatError, httpStatusOf } from './errors.js';
import { consoleRoutes } from './console.js';
import { explorerRoutes } from './explorer.js';
import { checkVariables, QUERY_LIMITS } from './document-limits.js';
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
  apollo: ApolloServer<Context>;
  /** stop accepting, finish in-flight requests, close subscriptions */
  close(): Promise<void>;
  /** a key was revoked: WebSocket connections made with it are closed (their subscriptions end) */
  revokeKey(keyId: string): void;
}

/** The request id of the HTTP request being handled, for errors formatted where Apollo gives no context. */
const currentRequest = new AsyncLocalStorage<string>();

const requestIdOf = (header: unknown) => (typeof header === 'string' && /^[\w.-]{1,64}$/.test(header) ? header : crypto.randomUUID());

function unauthenticated(): GraphQLError {
  const original = new AppError('UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>');
  return new GraphQLError(original.message, { originalError: original, extensions: { http: { status: 401 } } });
}

// Node's default requestTimeout: a client that takes longer to send a GraphQL request is dropped
const REQUEST_TIMEOUT_MS = 300_000;

/** server.requestTimeout for one request: it must have arrived whole within REQUEST_TIMEOUT_MS. */
function requestDeadline(req: Request, _res: Response, next: NextFunction): void {
  if (!req.complete) {
    const timer = setTimeout(() => {
      if (!req.complete) req.destroy(new Error('request timeout'));
    }, REQUEST_TIMEOUT_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  }
  next();
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

export async function createHttpServer(schema: GraphQLSchema, parts: ApiParts, log: Logger, options: HttpOptions): Promise<HttpServer> {
  const { resolvers, surfaces, authenticate } = parts;
  const app = express();
  app.disable('x-powered-by');
  // API answers are not cached by validators: a weak ETag would hash every response body for nothing
  // (static files get theirs from serve-static, which does not read this setting)
  app.disable('etag');
  // plain handlers (the S3 endpoint, HTTP triggers' /http/…) go in front of Express
  const handlers = surfaces.flatMap((s) => s.handlers ?? []);
  const server = http.createServer((req, res) => {
    const handler = handlers.find((h) => h.owns(req));
    if (handler) handler.handle(req, res);
    else app(req, res);
  });
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
  const rateLimits = new KeyRateLimiter(options.fieldRates);
  // parse (token-limited), limits, validation: for WebSocket operations and, before Apollo, HTTP ones
  const documents = new DocumentCache(schema);
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

  const coalescer = new QueryCoalescer(
    schema,
    (error, rc) => formatError(error.toJSON(), error, log, rc.contextValue.requestId),
    (error) => (error.originalError instanceof AppError ? httpStatusOf(error.originalError.code) : undefined),
  );
  const apollo = new ApolloServer<Context>({
    schema,
    stringifyResult: coalescer.stringifyResult,
    introspection: options.introspection,
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // documents reach Apollo only after DocumentCache checked them (below); the token limit stays as a net
    parseOptions: { maxTokens: QUERY_LIMITS.maxTokens },
    formatError: (formatted, error) => formatError(formatted, error, log, currentRequest.getStore()),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // nothing here is HTTP-cacheable (live state); the default plugin wraps every field resolver
      ApolloServerPluginCacheControlDisabled(),
      coalescer.plugin(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsServer.dispose();
            },
          };
        },
      },
      // the explorer is our own bundled GraphiQL (explorer.ts), not Apollo's CDN-loaded Sandbox
      ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart({ request }) {
          const started = performance.now();
          return {
            async willSendResponse({ contextValue, errors }) {
              contextValue?.log?.debug(
                { operation: request.operationName ?? null, ms: Math.round(performance.now() - started), errors: errors?.length ?? 0 },
                'graphql request',
              );
            },
          };
        },
      },
      {
        // a subscription's events come over the WebSocket: over HTTP its fields would run with no event
        async requestDidStart() {
          return {
            async didResolveOperation({ operation }) {
              if (operation?.operation === 'subscription')
                throw new AppError(
                  'BAD_USER_INPUT',
                  'a subscription is served over WebSocket (the graphql-ws protocol) at this path, not over HTTP',
                );
            },
          };
        },
      },
      {
        // errors that carry an API code get the matching HTTP status when the whole request failed
        async requestDidStart() {
          return {
            async willSendResponse({ response, errors }) {
              if (response.body.kind !== 'single' || response.body.singleResult.data !== undefined) return;
              const first = errors?.[0]?.originalError;
              if (first instanceof AppError && !response.http.status) response.http.status = httpStatusOf(first.code);
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    (req as Request & { requestId: string }).requestId = id;
    currentRequest.run(id, next);
  });

  app.get('/healthz', async (_req, res) => {
    if (await parts.healthy()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: 'database unreachable' });
  });

  // routes that stream their bodies (object bytes): mounted before any body parser
  for (const { path, handler } of surfaces.flatMap((s) => s.routes ?? [])) app.use(path, handler);
  app.use(requestDeadline);
  if (options.explorer) app.use(explorerRoutes(log));
  if (options.console) app.use(consoleRoutes(log));

  app.use('/graphql', express.json({ limit: options.bodyLimitBytes }));
  app.use('/graphql', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') {
      return sendError(
        res,
        413,
        'PAYLOAD_TOO_LARGE',
        `request body over ${options.bodyLimitBytes} bytes: upload large content ` +
          '(function code zips, objects) with PUT /objects/<bucket>/<key> and pass its s3Uri',
      );
    }
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'BAD_USER_INPUT', 'request body is not valid JSON');
    if (e.status && e.status < 500) return sendError(res, e.status, 'BAD_USER_INPUT', 'malformed request');
    next(err);
  });
  // limits before Apollo: a hostile document is refused after a token-limited parse and a linear
  // cost pass, before graphql-js's validation (some of whose rules are quadratic) sees it
  app.use('/graphql', (req: Request, res: Response, next: NextFunction) => {
    const params = (req.method === 'GET' ? req.query : req.body) as { query?: unknown; variables?: unknown } | undefined;
    const requestId = (req as Request & { requestId: string }).requestId;
    const refuse = (errors: readonly GraphQLError[]) =>
      res.status(400).json({ errors: errors.map((e) => formatError(e.toJSON(), e, log, requestId)) });
    if (typeof params?.query === 'string') {
      const checked = documents.get(params.query);
      if ('errors' in checked) return refuse(checked.errors);
    }
    try {
      let variables = params?.variables;
      if (typeof variables === 'string') {
        try {
          variables = JSON.parse(variables);
        } catch {
          /* Apollo reports it */
        }
      }
      checkVariables(variables);
    } catch (err) {
      return refuse([new GraphQLError((err as Error).message, { originalError: err as Error })]);
    }
    next();
  });
  app.use(
    '/graphql',
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const principal = await authenticate(req.headers.authorization);
        // a browser GET of the landing page carries no key; every operation does need one
        if (!principal) throw unauthenticated();
        const requestId = (req as Request & { requestId: string }).requestId;
        return createContext(log, requestId, principal, rateLimits, resolvers);
      },
    }),
  );

  for (const fallback of surfaces.flatMap((s) => (s.fallback ? [s.fallback] : []))) app.use(fallback);
  app.use((_req: Request, res: Response) => sendError(res, 404, 'NOT_FOUND', 'no such route'));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    log.error({ err, requestId: (req as Request & { requestId?: string }).requestId }, 'unhandled HTTP error');
    if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'Internal error');
  });

  const revokeKey = (keyId: string) => {
    for (const socket of socketsByKey.get(keyId) ?? []) socket.close(4403, 'API key revoked');
    socketsByKey.delete(keyId);
  };
  return {
    name: 'api server',
    server,
    apollo,
    revokeKey,
    // a key revoked on any server ends the subscriptions made with it here
    channels: { [Channel.apiKey]: revokeKey },
    async close() {
      await apollo.stop(); // drains HTTP (in-flight requests finish) and disposes graphql-ws
      graphqlWs.close();
      for (const endpoint of endpoints) endpoint.wss.close();
    },
  };
}
