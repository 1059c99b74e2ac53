import type { Logger } from 'pino';
import type { MiddlewareFn } from 'type-graphql';
import type { Principal } from '../authorization.js';
import type { KeyRateLimiter, RateLimitedField } from './rate-limits.js';

type Class<T> = abstract new (...args: never[]) => T;

/** The resolver objects of this server by class: type-graphql's container, and the way in for the
 *  `subscribe` functions type-graphql calls without a resolver object. */
export class ResolverInstances {
  private readonly byClass = new Map<unknown, object>();

  constructor(instances: readonly object[]) {
    for (const instance of instances) this.byClass.set(instance.constructor, instance);
  }

  get<T extends object>(cls: Class<T>): T {
    const instance = this.byClass.get(cls);
    if (!instance) throw new Error(`no resolver object of class ${cls.name}`);
    return instance as T;
  }
}

/** What every resolver knows about the request. Services come from the resolver's own module. */
export interface Context {
  requestId: string;
  principal: Principal | null;
  log: Logger;
  /** per-key rates of expensive fields (one limiter per server) */
  rateLimits: KeyRateLimiter;
  resolvers: ResolverInstances;
  /** what per-request state (DataLoaders) belongs to: a subscription renews it for each event, so
   *  that nested fields of an update never read an earlier event's cache */
  scope: object;
  /** set when the server runs a rewritten document (server/raw-json.ts): what its resolvers read into */
  rewrite?: object;
}

export function createContext(
  log: Logger,
  requestId: string,
  principal: Principal | null,
  rateLimits: KeyRateLimiter,
  resolvers: ResolverInstances,
): Context {
  // the request's logger is made when something logs (most requests log nothing; a child logger
  // per request was a measurable share of a warm invoke's cost)
  let child: Logger | undefined;
  return {
    requestId,
    principal,
    get log() {
      child ??= log.child({ requestId });
      return child;
    },
    rateLimits,
    resolvers,
    scope: {},
  };
}

/**
 * State a module keeps for one request (its DataLoaders), made on first use: `perRequest(create)`
 * gives a function from the request's context to that request's state.
 */
export function perRequest<T>(create: () => T): (ctx: Context) => T {
  const byScope = new WeakMap<object, T>();
  return (ctx) => {
    let state = byScope.get(ctx.scope);
    if (state === undefined) byScope.set(ctx.scope, (state = create()));
    return state;
  };
}

/** type-graphql middleware: the field counts against its per-key rate before it runs. */
export const rateLimited =
  (field: RateLimitedField): MiddlewareFn<Context> =>
  async ({ context }, next) => {
    if (context.principal) context.rateLimits.take(context.principal.keyId, field);
    return next();
  };
