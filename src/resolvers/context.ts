import type { Logger } from 'pino';
import type { Principal } from '../services/auth.js';
import type { Services } from '../services/index.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface Context {
  requestId: string;
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
  log: Logger;
}

export function createContext(services: Services, log: Logger, requestId: string, principal: Principal | null): Context {
  return { requestId, principal, services, loaders: createLoaders(services), log: log.child({ requestId }) };
}
