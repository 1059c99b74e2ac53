import { isAscii } from 'node:buffer';
import type http from 'node:http';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import {
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import Negotiator from 'negotiator';
import type { Logger } from 'pino';
import type { Authenticate, Principal } from '../authorization.js';
import { AppError } from '../errors.js';
import type { Context } from '../graphql/context.js';
import { checkVariables } from './document-limits.js';
import { formatError, httpStatusOf } from './errors.js';
import type { QueryCoalescer } from './query-coalescing.js';
import type { DocumentRewrite, DocumentRewriter } from './raw-json.js';
import { documentIdOf, type DocumentCache } from './subscription-execution.js';

// Node's default requestTimeout: a client that takes longer to send a request is dropped
const REQUEST_TIMEOUT_MS = 300_000;

/** server.requestTimeout for one request: it must have arrived whole within REQUEST_TIMEOUT_MS. */
export function armRequestDeadline(req: http.IncomingMessage): void {
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (!req.complete) req.destroy(new Error('request timeout'));
  }, REQUEST_TIMEOUT_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}

/** A reply that is not a GraphQL result: the transport's own error body. */
export function sendPlainError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A request refused before any operation ran, with its HTTP status (400 unless said otherwise). */
class Refusal extends Error {
  constructor(
    readonly errors: readonly GraphQLError[],
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0]?.message);
  }
}

/** graphql-js's and Apollo's codes for a request that is malformed as HTTP (formatError maps them to BAD_USER_INPUT). */
const badRequest = (message: string, status = 400, headers: Record<string, string> = {}) =>
  new Refusal([new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } })], status, headers);

/** A transport failure answered with the plain error body (what express.json's errors were). */
class PlainRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface GraphqlParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

// content types a browser may send cross-site without a preflight: such a request must carry a
// header a browser only sends after one (Apollo Server's CSRF prevention, which clients know)
const SIMPLE_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'];
const CSRF_MESSAGE =
  'This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a ' +
  `'content-type' header (with a type that is not one of ${[...SIMPLE_CONTENT_TYPES].join(', ')}) or provide a ` +
  `non-empty value for one of the following headers: ${PREFLIGHT_HEADERS.join(', ')}\n`;

const essenceOf = (contentType: string) => contentType.split(';', 1)[0]!.trim().toLowerCase();

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';
const MAX_ACCEPT_CACHE = 100;

const isRecord = (o: unknown): o is Record<string, unknown> => !!o && typeof o === 'object' && !Array.isArray(o);

/** What a document's operation needs at run time, worked out once per document and operation name. */
interface Plan {
  operation: OperationDefinitionNode | null;
  /** graphql-jit's plan of a query (null: graphql-js runs it, where graphql-jit can't compile one) */
  compiled?: CompiledQuery | null;
  /** a module's rewrite of the query and graphql-jit's plan of it (null: none, or one graphql-jit can't compile) */
  rewrite?: { by: DocumentRewrite; compiled: CompiledQuery } | null;
}

export interface GraphqlOverHttpOptions {
  schema: GraphQLSchema;
  /** parse, limits, validation of each distinct text (shared with the WebSocket server) */
  documents: DocumentCache;
  coalescer: QueryCoalescer;
  introspection: boolean;
  bodyLimitBytes: number;
  authenticate: Authenticate;
  context(requestId: string, principal: Principal): Context;
  /** the modules' rewrites of query documents (the first that has one for a document applies) */
  rewriters: readonly DocumentRewriter[];
  log: Logger;
}

/**
 * GraphQL over HTTP (GET and POST at /graphql), in the order that keeps a hostile request cheap: the
 * body read within its limit, the document's limits and validation (cached per text), Apollo
 * Server's CSRF rule, the key, then the operation; queries through the coalescer with graphql-jit's
 * compiled plans, mutations with graphql-js. Statuses: 400 for a malformed request, 401 without a
 * valid key, 405 for a mutation over GET, 413 over the body limit, and an API error's own status
 * when the operation failed as a whole.
 */
export class GraphqlOverHttp {
  private plans = new WeakMap<DocumentNode, Map<string, Plan>>();
  private introspectionErrors = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  private contentTypes = new Map<string, string | null>();

  constructor(private readonly o: GraphqlOverHttpOptions) {}

  /** Answers one request; `requestId` is the one already in its x-request-id header. */
  handle = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string): void => {
    this.answer(req, res, requestId).catch((err) => {
      this.o.log.error({ err, requestId }, 'unhandled HTTP error');
      if (!res.headersSent) sendPlainError(res, 500, 'INTERNAL', 'Internal error');
      else res.destroy();
    });
  };

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<void> {
    const started = performance.now();
    let context: Context | null = null;
    let operationName: string | null = null;
    try {
      const params = await this.params(req);
      const checked = typeof params?.query === 'string' ? this.o.documents.get(params.query) : null;
      if (checked && 'errors' in checked) throw new Refusal(checked.errors);
      let variables = params?.variables;
      if (typeof variables === 'string' && req.method === 'GET') {
        try {
          variables = JSON.parse(variables);
        } catch {
          /* reported below */
        }
      }
      try {
        checkVariables(variables);
      } catch (err) {
        throw new Refusal([new GraphQLError((err as Error).message, { originalError: err as Error })]);
      }
      this.preventCsrf(req);
      const principal = await this.o.authenticate(req.headers.authorization);
      if (!principal) {
        const original = new AppError('UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>');
        throw new Refusal([new GraphQLError(original.message, { originalError: original })], 401);
      }
      const request = this.request(req, params);
      operationName = request.operationName ?? null;
      context = this.o.context(requestId, principal);
      if (!checked) {
        throw request.extensions?.persistedQuery !== undefined
          ? new Refusal([new GraphQLError('PersistedQueryNotSupported', { extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } })])
          : badRequest('GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.');
      }
      const { document } = checked;
      if (!this.o.introspection) {
        const errors = this.introspectionErrorsOf(document);
        if (errors.length) throw new Refusal(errors);
      }
      const plan = this.planOf(document, request.operationName);
      const { operation } = plan;
      if (!operation) {
        const message = request.operationName
          ? `Unknown operation named "${request.operationName}".`
          : 'Must provide operation name if query contains multiple operations.';
        throw new Refusal([new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })]);
      }
      if (req.method === 'GET' && operation.operation !== 'query')
        throw badRequest(`GET requests only support query operations, not ${operation.operation} operations`, 405, { allow: 'POST' });
      // a subscription's events come over the WebSocket: over HTTP its fields would run with no event
      if (operation.operation === 'subscription') {
        const original = new AppError(
          'BAD_USER_INPUT',
          'a subscription is served over WebSocket (the graphql-ws protocol) at this path, not over HTTP',
        );
        throw new Refusal([new GraphQLError(original.message, { originalError: original })]);
      }
      const contentType = this.contentTypeFor(req);
      const result = await this.run(document, plan, request.operationName, variables as Record<string, unknown> | undefined, context);
      const errors = result.errors?.map((e) => this.format(e, requestId, result.data === undefined));
      let status = 200;
      if (errors && (result.data === undefined || result.data === null)) {
        const first = result.errors![0]!.originalError;
        status = first instanceof AppError ? httpStatusOf(first.code) : result.data === undefined ? 400 : 200;
      }
      this.send(res, status, contentType, this.o.coalescer.serialize(errors ? { errors, data: result.data } : { data: result.data }));
      // the object is made only when it is logged (every request passes here)
      if (context.log.isLevelEnabled('debug'))
        context.log.debug(
          { operation: operationName, ms: Math.round(performance.now() - started), errors: errors?.length ?? 0 },
          'graphql request',
        );
    } catch (err) {
      if (err instanceof PlainRefusal) return sendPlainError(res, err.status, err.code, err.message);
      if (!(err instanceof Refusal)) throw err;
      const errors = err.errors.map((e) => this.format(e, requestId, false));
      for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
      this.send(res, err.status, JSON_TYPE, Buffer.from(`${JSON.stringify({ errors })}\n`));
      if (context?.log.isLevelEnabled('debug'))
        context.log.debug(
          { operation: operationName, ms: Math.round(performance.now() - started), errors: errors.length },
          'graphql request',
        );
    }
  }

  /** The request's parameters: the query string of a GET, else the JSON body (undefined: not a JSON body). */
  private async params(req: http.IncomingMessage): Promise<GraphqlParams | undefined> {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const search = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const once = (name: string) => {
        const values = search.getAll(name);
        if (values.length > 1) throw badRequest(`The '${name}' search parameter may only be specified once.`);
        return values[0];
      };
      return { query: once('query'), operationName: once('operationName'), variables: once('variables'), extensions: once('extensions') };
    }
    if (essenceOf(req.headers['content-type'] ?? '') !== 'application/json') return undefined;
    const body = await this.readBody(req);
    // an ASCII body (what JSON.stringify sends unless a string has non-ASCII text) is its own Latin-1
    // text: copied as such, not decoded as UTF-8 (a tenth of the time; 1.7 ms less for 1.9 MB)
    const text = isAscii(body) ? body.toString('latin1') : body.toString('utf8');
    if (!text) return {};
    const first = /\S/.exec(text)?.[0];
    if (first !== '{' && first !== '[') throw new PlainRefusal(400, 'BAD_USER_INPUT', 'request body is not valid JSON');
    try {
      return JSON.parse(text) as GraphqlParams;
    } catch {
      throw new PlainRefusal(400, 'BAD_USER_INPUT', 'request body is not valid JSON');
    }
  }

  /** The whole body, decompressed, within the limit (413 past it), arriving within the request deadline. */
  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    const limit = this.o.bodyLimitBytes;
    const tooLarge = () =>
      new PlainRefusal(
        413,
        'PAYLOAD_TOO_LARGE',
        `request body over ${limit} bytes: upload large content (function code zips, objects) with PUT /objects/<bucket>/<key> and pass its s3Uri`,
      );
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity' && Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
    const decode =
      encoding === 'gzip'
        ? zlib.createGunzip()
        : encoding === 'deflate'
          ? zlib.createInflate()
          : encoding === 'br'
            ? zlib.createBrotliDecompress()
            : encoding === 'identity'
              ? null
              : undefined;
    if (decode === undefined) return Promise.reject(new PlainRefusal(415, 'BAD_USER_INPUT', 'malformed request'));
    armRequestDeadline(req);
    return new Promise((resolve, reject) => {
      const source = decode ? pipeline(req, decode, () => {}) : req;
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        source.removeAllListeners('data');
        reject(err);
      };
      source.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) return fail(tooLarge());
        chunks.push(chunk);
      });
      source.once('end', () => {
        if (done) return;
        done = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
      source.once('error', () => fail(new PlainRefusal(400, 'BAD_USER_INPUT', 'malformed request')));
      req.once('aborted', () => fail(new PlainRefusal(400, 'BAD_USER_INPUT', 'malformed request')));
    });
  }

  private preventCsrf(req: http.IncomingMessage): void {
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && !SIMPLE_CONTENT_TYPES.has(essenceOf(contentType))) return;
    if (PREFLIGHT_HEADERS.some((h) => (req.headers[h]?.length ?? 0) > 0)) return;
    throw badRequest(CSRF_MESSAGE);
  }

  /** The operation request in the body or query string, its shape checked as Apollo Server did. */
  private request(req: http.IncomingMessage, params: GraphqlParams | undefined) {
    if (req.method === 'GET') {
      const contentType = req.headers['content-type'];
      if (contentType !== undefined && essenceOf(contentType) !== 'application/json')
        throw badRequest('GET requests may not have a content-type header other than application/json.', 415);
      const json = (name: 'variables' | 'extensions') => {
        const value = params![name];
        if (value === undefined) return undefined;
        let parsed: unknown;
        try {
          parsed = JSON.parse(value as string);
        } catch {
          throw badRequest(`The ${name} search parameter contains invalid JSON.`);
        }
        if (!isRecord(parsed)) throw badRequest(`The ${name} search parameter should contain a JSON-encoded object.`);
        return parsed;
      };
      return { operationName: params!.operationName as string | undefined, variables: json('variables'), extensions: json('extensions') };
    }
    if (req.method !== 'POST') throw badRequest('GraphQL is served over GET and POST only.', 405, { allow: 'GET, POST' });
    if (Array.isArray(params)) throw badRequest('Operation batching disabled.');
    if (!isRecord(params) || Object.keys(params).length === 0)
      throw badRequest('POST body missing, invalid Content-Type, or JSON object has no keys.');
    if (params.query && typeof params.query !== 'string') throw badRequest('GraphQL queries must be strings.');
    for (const name of ['variables', 'extensions'] as const) {
      const value = params[name];
      if (typeof value === 'string')
        throw badRequest(`\`${name}\` in a POST body should be provided as an object, not a recursively JSON-encoded string.`);
      if (value !== undefined && value !== null && !isRecord(value))
        throw badRequest(`\`${name}\` in a POST body must be an object if provided.`);
    }
    if (params.operationName !== undefined && params.operationName !== null && typeof params.operationName !== 'string')
      throw badRequest('`operationName` in a POST body must be a string if provided.');
    return {
      operationName: (params.operationName ?? undefined) as string | undefined,
      variables: (params.variables ?? undefined) as Record<string, unknown> | undefined,
      extensions: (params.extensions ?? undefined) as Record<string, unknown> | undefined,
    };
  }

  private introspectionErrorsOf(document: DocumentNode): readonly GraphQLError[] {
    let errors = this.introspectionErrors.get(document);
    // the first field named is enough to say why
    if (!errors)
      this.introspectionErrors.set(document, (errors = validate(this.o.schema, document, [NoSchemaIntrospectionCustomRule]).slice(0, 1)));
    return errors;
  }

  private planOf(document: DocumentNode, operationName: string | undefined): Plan {
    let byName = this.plans.get(document);
    if (!byName) this.plans.set(document, (byName = new Map()));
    let plan = byName.get(operationName ?? '');
    if (!plan) byName.set(operationName ?? '', (plan = { operation: getOperationAST(document, operationName) ?? null }));
    return plan;
  }

  /** A query runs once for every identical one waiting (QueryCoalescer), with a compiled plan; a mutation runs as sent. */
  private run(
    document: DocumentNode,
    plan: Plan,
    operationName: string | undefined,
    variables: Record<string, unknown> | undefined,
    context: Context,
  ): Promise<ExecutionResult> {
    const { schema } = this.o;
    const viaGraphqlJs = () =>
      execute({ schema, document, operationName, variableValues: variables, contextValue: context }) as Promise<ExecutionResult>;
    if (plan.operation!.operation !== 'query') return viaGraphqlJs();
    if (plan.compiled === undefined) {
      const compiled = compileQuery(schema, document, operationName);
      plan.compiled = isCompiledQuery(compiled) ? compiled : null;
    }
    const { compiled } = plan;
    const principal = context.principal;
    const key = JSON.stringify([
      documentIdOf(document),
      operationName ?? null,
      variables ?? null,
      principal ? [...principal.actions].sort() : null,
    ]);
    const rewrite = this.rewriteOf(document, plan);
    return this.o.coalescer.run(key, () => {
      const state = rewrite?.by.state(variables ?? {});
      if (state) return this.runRewritten(rewrite!.by, rewrite!.compiled, state, variables, context);
      return compiled ? (Promise.resolve(compiled.query(undefined, context, variables ?? {})) as Promise<ExecutionResult>) : viaGraphqlJs();
    });
  }

  /** A module's rewrite of a query, when one has it and graphql-jit compiles it (else null: the document runs as sent). */
  private rewriteOf(document: DocumentNode, plan: Plan): Plan['rewrite'] {
    if (plan.rewrite === undefined) {
      let found: Plan['rewrite'] = null;
      for (const rewriter of this.o.rewriters) {
        const by = rewriter(this.o.schema, document, plan.operation!);
        if (!by) continue;
        const compiled = compileQuery(this.o.schema, by.document, plan.operation!.name?.value);
        if (isCompiledQuery(compiled)) found = { by, compiled };
        break;
      }
      plan.rewrite = found;
    }
    return plan.rewrite;
  }

  private async runRewritten(
    rewrite: DocumentRewrite,
    compiled: CompiledQuery,
    state: object,
    variables: Record<string, unknown> | undefined,
    context: Context,
  ): Promise<ExecutionResult> {
    context.rewrite = state;
    const result = (await compiled.query(undefined, context, variables ?? {})) as ExecutionResult;
    if (result.data) rewrite.finish(result.data as Record<string, unknown>, context);
    return result;
  }

  /** `beforeExecution`: the result has no data, its errors are about the variables. */
  private format(error: GraphQLError, requestId: string, beforeExecution: boolean): GraphQLFormattedError {
    const formatted = error.toJSON();
    if (beforeExecution && formatted.extensions?.code === undefined)
      return formatError({ ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } }, error, this.o.log, requestId);
    return formatError(formatted, error, this.o.log, requestId);
  }

  /** The response's content type from the Accept header (406 when it takes neither JSON type). */
  private contentTypeFor(req: http.IncomingMessage): string {
    const accept = req.headers.accept;
    if (!accept) return JSON_TYPE;
    let type = this.contentTypes.get(accept);
    if (type === undefined) {
      type = new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_TYPE]) ?? null;
      if (this.contentTypes.size >= MAX_ACCEPT_CACHE) this.contentTypes.clear();
      this.contentTypes.set(accept, type);
    }
    if (type === null)
      throw badRequest(
        `An 'accept' header was provided for this request which does not accept application/json or application/graphql-response+json`,
        406,
      );
    return type;
  }

  private send(res: http.ServerResponse, status: number, contentType: string, body: Buffer): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': body.length });
    res.end(body);
  }
}
