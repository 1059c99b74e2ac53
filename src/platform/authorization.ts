// Who is calling and what they may do: API keys' IAM-style action patterns, checked in one place.
import { AppError } from './errors.js';

/** Who is calling. Policies (IAM-style action patterns) are checked in `authorize`, one place. */
export interface Principal {
  keyId: string;
  name: string;
  actions: string[];
}

export const ACTION_PATTERN = /^(\*|[a-z]+:(\*|[A-Za-z]+\*?))$/;

function matches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return action.startsWith(pattern.slice(0, -1));
  return pattern === action;
}

/** Whether everything pattern `wanted` allows is allowed by pattern `held`. */
export function covers(held: string, wanted: string): boolean {
  if (held === '*') return true;
  if (held.endsWith('*')) return wanted.startsWith(held.slice(0, -1));
  return held === wanted;
}

/** true when one of the principal's patterns allows the action (e.g. `clusters:*`, `clusters:Describe*`). */
export function isAllowed(principal: Principal, action: string): boolean {
  return principal.actions.some((p) => matches(p, action));
}

export function authorize(principal: Principal | null, action: string): Principal {
  if (!principal) throw new AppError('UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>');
  if (!isAllowed(principal, action)) throw new AppError('FORBIDDEN', `this API key may not perform ${action}`);
  return principal;
}

/** Who a request's `Authorization` header says is calling (null: no valid key). */
export type Authenticate = (header: string | undefined | null) => Promise<Principal | null>;

/**
 * The secret of an S3 access key id and who it speaks for (null: unknown or revoked): what SigV4
 * verification needs, since a signature can only be checked with the secret itself.
 */
export type LookupS3Credentials = (accessKeyId: string) => Promise<{ secretAccessKey: string; principal: Principal } | null>;
