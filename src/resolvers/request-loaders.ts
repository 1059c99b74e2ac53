// DataLoaders a resolver module adds to a request (ctx.loaders holds the shared ones): made on the
// request's first use and kept for that request only, so batching never serves another request's rows.
import type { Context } from './context.js';

export function requestLoaders<L extends object>(make: (ctx: Context) => L): (ctx: Context) => L {
  const byRequest = new WeakMap<object, L>();
  return (ctx) => {
    let loaders = byRequest.get(ctx.loaders);
    if (!loaders) byRequest.set(ctx.loaders, (loaders = make(ctx)));
    return loaders;
  };
}
