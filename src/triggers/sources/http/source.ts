// HTTP triggers (API Gateway HTTP API routes): `METHOD /path` served at /http<path> on the main
// port. The route is claimed in http_routes (unique on method and path shape) in the trigger's
// transaction; every server routes from its in-memory table (src/triggers/sources/http/route-table.ts).
import { AppError, badInput, conflict } from '../../../platform/errors.js';
import { parseCors, type CorsConfig, type CorsInputShape } from './cors.js';
import { requireRouteMethod, routeTemplate, type RouteMethod } from './route-keys.js';
import { routeHolder, saveRoute } from './queries.js';
import type { TriggerSourceKind } from '../types.js';

export type HttpAuth = 'NONE' | 'API_KEY';
/** A function URL's invoke mode, as Lambda names it: RESPONSE_STREAM sends the response as the function writes it. */
export type InvokeMode = 'BUFFERED' | 'RESPONSE_STREAM';

/** What an HTTP trigger stores as its config. */
export interface HttpTriggerConfig {
  method: RouteMethod;
  path: string;
  auth: HttpAuth;
  cors: CorsConfig | null;
  /** function URLs only (absent: BUFFERED) */
  invokeMode?: InvokeMode;
}

/** Function URLs are routes of this shape: `ANY /fn/<function>[:<qualifier>]/{proxy+}`. */
export const FUNCTION_URL_PREFIX = '/fn/';
export const functionUrlPath = (functionName: string, qualifier?: string | null) =>
  `${FUNCTION_URL_PREFIX}${functionName}${qualifier && qualifier !== '$LATEST' ? `:${qualifier}` : ''}/{proxy+}`;

const AUTH_TYPES: HttpAuth[] = ['NONE', 'API_KEY'];
const INVOKE_MODES: InvokeMode[] = ['BUFFERED', 'RESPONSE_STREAM'];
// the field the route is reported under (saved() is not told the input's field)
const PATH_FIELD = 'http.path';

interface HttpSourceInput {
  method?: unknown;
  path?: unknown;
  auth?: unknown;
  cors?: unknown;
  invokeMode?: unknown;
}

export const httpSource: TriggerSourceKind<HttpTriggerConfig> = {
  type: 'HTTP',
  field: 'http',
  parse(raw, field) {
    const input = (raw ?? {}) as HttpSourceInput;
    if (typeof input.method !== 'string') throw badInput(`${field}.method`, 'is required');
    if (typeof input.path !== 'string') throw badInput(`${field}.path`, 'is required');
    const method = requireRouteMethod(input.method, `${field}.method`);
    routeTemplate(method, input.path, `${field}.path`);
    const auth = (input.auth ?? 'NONE') as HttpAuth;
    if (!AUTH_TYPES.includes(auth)) throw badInput(`${field}.auth`, `must be one of ${AUTH_TYPES.join(', ')}`);
    const invokeMode = (input.invokeMode ?? 'BUFFERED') as InvokeMode;
    if (!INVOKE_MODES.includes(invokeMode)) throw badInput(`${field}.invokeMode`, `must be one of ${INVOKE_MODES.join(', ')}`);
    // Lambda streams through function URLs only (API Gateway routes are buffered)
    if (invokeMode !== 'BUFFERED' && !input.path.startsWith(FUNCTION_URL_PREFIX))
      throw badInput(`${field}.invokeMode`, 'RESPONSE_STREAM is for function URLs (createFunctionUrl)');
    return {
      method,
      path: input.path,
      auth,
      cors: parseCors(input.cors as CorsInputShape | null, `${field}.cors`),
      ...(invokeMode === 'BUFFERED' ? {} : { invokeMode }),
    };
  },
  async saved(tx, trigger) {
    const config = trigger.config as unknown as HttpTriggerConfig;
    const template = routeTemplate(config.method, config.path, PATH_FIELD);
    // /fn/… is the function URLs' namespace: only a function's own URL route lives there
    if (config.path.startsWith(FUNCTION_URL_PREFIX)) {
      const own = functionUrlPath(trigger.functionName, trigger.qualifier);
      if (config.path !== own || config.method !== 'ANY') {
        throw badInput(
          PATH_FIELD,
          `paths under ${FUNCTION_URL_PREFIX} are function URLs: this trigger's can only be ANY ${own} (createFunctionUrl makes it)`,
        );
      }
    }
    const holder = await routeHolder(tx, config.method, template.shape, trigger.id);
    if (holder)
      throw conflict(
        `the route ${template.routeKey} is taken: trigger ${JSON.stringify(holder.name)} serves ${config.method} ${holder.path}`,
        PATH_FIELD,
      );
    try {
      await saveRoute(tx, { triggerId: trigger.id, method: config.method, shape: template.shape, path: config.path });
    } catch (err) {
      // another transaction claimed it between the check and the insert
      if ((err as { code?: string }).code === '23505')
        throw new AppError('CONFLICT', `the route ${template.routeKey} is taken by another trigger`, PATH_FIELD);
      throw err;
    }
  },
};
