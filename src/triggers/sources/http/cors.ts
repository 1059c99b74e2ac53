// CORS for HTTP trigger routes, with API Gateway HTTP API's settings: a preflight (OPTIONS with
// Origin and Access-Control-Request-Method) is answered by the platform without invoking the
// function; other responses of the route get the allow-origin/credentials/expose headers.
import { badInput } from '../../../platform/errors.js';
import { HTTP_METHODS } from './route-keys.js';

export interface CorsConfig {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number | null;
  allowCredentials: boolean;
}

export interface CorsInputShape {
  allowOrigins?: string[] | null;
  allowMethods?: string[] | null;
  allowHeaders?: string[] | null;
  exposeHeaders?: string[] | null;
  maxAge?: number | null;
  allowCredentials?: boolean | null;
}

const MAX_ITEMS = 100;
const MAX_AGE = 86_400;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

function list(value: string[] | null | undefined, field: string, check: (v: string, f: string) => string): string[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw badInput(field, 'must be a list of strings');
  if (value.length > MAX_ITEMS) throw badInput(field, `must have at most ${MAX_ITEMS} items`);
  return [
    ...new Set(
      value.map((v, i) => {
        if (typeof v !== 'string') throw badInput(`${field}.${i}`, 'must be a string');
        return v.trim() === '*' ? '*' : check(v.trim(), `${field}.${i}`);
      }),
    ),
  ];
}

const origin = (v: string, f: string) => {
  if (!ORIGIN.test(v) || v.length > 256) throw badInput(f, `"${v.slice(0, 100)}" is not an origin like "https://example.com" (or "*")`);
  return v.toLowerCase();
};
const method = (v: string, f: string) => {
  const upper = v.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(upper)) throw badInput(f, `must be one of ${HTTP_METHODS.join(', ')} or "*"`);
  return upper;
};
const header = (v: string, f: string) => {
  if (!TOKEN.test(v)) throw badInput(f, `"${v.slice(0, 100)}" is not a header name (or "*")`);
  return v.toLowerCase();
};

/** Checks a route's CORS settings; null input → no CORS. Errors name `field` (e.g. `http.cors`). */
export function parseCors(input: CorsInputShape | null | undefined, field: string): CorsConfig | null {
  if (input == null) return null;
  if (typeof input !== 'object' || Array.isArray(input)) throw badInput(field, 'must be an object');
  const allowOrigins = list(input.allowOrigins, `${field}.allowOrigins`, origin);
  const allowCredentials = input.allowCredentials ?? false;
  if (typeof allowCredentials !== 'boolean') throw badInput(`${field}.allowCredentials`, 'must be a boolean');
  if (allowCredentials && allowOrigins.includes('*')) {
    throw badInput(`${field}.allowOrigins`, 'can\'t be "*" when allowCredentials is true (browsers refuse it): list the origins');
  }
  let maxAge: number | null = null;
  if (input.maxAge != null) {
    if (!Number.isInteger(input.maxAge) || input.maxAge < 0 || input.maxAge > MAX_AGE)
      throw badInput(`${field}.maxAge`, `must be an integer from 0 to ${MAX_AGE} (seconds)`);
    maxAge = input.maxAge;
  }
  return {
    allowOrigins,
    allowCredentials,
    maxAge,
    allowMethods: list(input.allowMethods, `${field}.allowMethods`, method),
    allowHeaders: list(input.allowHeaders, `${field}.allowHeaders`, header),
    exposeHeaders: list(input.exposeHeaders, `${field}.exposeHeaders`, header),
  };
}

function allowedOrigin(cors: CorsConfig, requestOrigin: string): string | null {
  if (cors.allowOrigins.includes('*')) return '*';
  return cors.allowOrigins.includes(requestOrigin.toLowerCase()) ? requestOrigin : null;
}

/** Headers for an ordinary response of a route with CORS (none when the origin is not allowed). */
export function corsResponseHeaders(cors: CorsConfig, requestOrigin: string | undefined): Array<[string, string]> {
  if (!requestOrigin) return [];
  const allow = allowedOrigin(cors, requestOrigin);
  if (!allow) return [];
  const out: Array<[string, string]> = [['access-control-allow-origin', allow]];
  if (allow !== '*') out.push(['vary', 'Origin']);
  if (cors.allowCredentials) out.push(['access-control-allow-credentials', 'true']);
  if (cors.exposeHeaders.length) out.push(['access-control-expose-headers', cors.exposeHeaders.join(', ')]);
  return out;
}

/**
 * The platform's answer to a preflight: 204 with the allow headers when the origin, method and
 * headers are allowed; 204 without them otherwise (the browser then refuses the real request).
 */
export function preflightHeaders(
  cors: CorsConfig,
  requestOrigin: string,
  requestMethod: string,
  requestHeaders: string | undefined,
): Array<[string, string]> {
  const allow = allowedOrigin(cors, requestOrigin);
  const m = requestMethod.toUpperCase();
  if (!allow || !(cors.allowMethods.includes('*') || cors.allowMethods.includes(m))) return [];
  const asked = (requestHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (!cors.allowHeaders.includes('*') && asked.some((h) => !cors.allowHeaders.includes(h))) return [];
  const out: Array<[string, string]> = [['access-control-allow-origin', allow]];
  if (allow !== '*') out.push(['vary', 'Origin']);
  out.push(['access-control-allow-methods', cors.allowMethods.includes('*') ? m : cors.allowMethods.join(', ')]);
  if (asked.length)
    out.push(['access-control-allow-headers', cors.allowHeaders.includes('*') ? asked.join(', ') : cors.allowHeaders.join(', ')]);
  if (cors.allowCredentials) out.push(['access-control-allow-credentials', 'true']);
  if (cors.maxAge !== null) out.push(['access-control-max-age', String(cors.maxAge)]);
  return out;
}
