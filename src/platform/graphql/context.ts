import type { Logger } from 'pino';
import type { Principal } from '../authorization.js';
import type { Services } from '../services-bag.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { KeyRateLimiter } from './rate-limits.js';

export interface Context {
  requestId: string;
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
  log: Logger;
  /** per-key rates of expensive fields (one limiter per server) */
  rateLimits: KeyRateLimiter;
}

export function createContext(
  services: Services, log: Logger, requestId: string, principal: Principal | null, rateLimits: KeyRateLimiter,
): Context {
  return { requestId, principal, services, loaders: createLoaders(services), log: log.child({ requestId }), rateLimits };
}
