// The HTTP trigger route table of this server: every enabled HTTP trigger's route, in memory, built
// from the triggers table at start and rebuilt when a trigger changes anywhere (NOTIFY on the
// triggers channel, a reconnect, a slow poll as the safety net). Requests are routed from memory.
import type { Logger } from 'pino';
import type { Sql } from '../../../platform/db/client.js';
import { httpTriggers } from './queries.js';
import type { Principal } from '../../../platform/authorization.js';
import { AppError, badInput } from '../../../platform/errors.js';
import { requireFunctionName, requireQualifier } from '../../../functions/functions.js';
import type { CorsConfig } from './cors.js';
import { RouteTable, routeTemplate, type RouteMatch, type RouteTemplate } from './route-keys.js';
import type { TriggerService } from '../../service.js';
import { FUNCTION_URL_PREFIX, functionUrlPath, type HttpAuth, type HttpTriggerConfig, type InvokeMode } from './source.js';
import type { TriggerRow } from '../../tables.js';

export interface HttpRoute {
  triggerId: string;
  triggerName: string;
  functionName: string;
  qualifier: string;
  auth: HttpAuth;
  cors: CorsConfig | null;
  invokeMode: InvokeMode;
  template: RouteTemplate;
}

/** Where HTTP trigger routes are served on the main port. */
export const HTTP_TRIGGER_PREFIX = '/http';

const POLL_MS = 30_000;

export interface FunctionUrlInput {
  functionName: string;
  qualifier?: string | null;
  auth: HttpAuth;
  cors?: unknown;
  name?: string | null;
  invokeMode?: InvokeMode | null;
}

export class HttpRouteService {
  private table = new RouteTable<HttpRoute>();
  /** function URL paths by `<function>|<qualifier>` (disabled ones too: the URL still exists) */
  private functionUrls = new Map<string, string>();
  private current: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly triggers: TriggerService,
    private readonly log: Logger,
    /** where this server answers: routes' URLs start there */
    private readonly address: { readonly publicUrl: string },
  ) {}

  match(method: string, rawPath: string): RouteMatch<HttpRoute> | null {
    const hit = this.table.match(method, rawPath);
    if (hit || !rawPath.startsWith(FUNCTION_URL_PREFIX) || rawPath.includes('/', FUNCTION_URL_PREFIX.length)) return hit;
    // `…/fn/<function>` is the function URL's root as well as `…/fn/<function>/`: a Lambda function
    // URL's bare host reaches the function, and `{proxy+}` alone would need the trailing slash
    return this.table.match(method, `${rawPath}/`);
  }

  /** The public URL of a route path (`{params}` left in; a function URL's is its root, `…/fn/<function>/`). */
  urlOf(path: string): string {
    const shown = path.startsWith(FUNCTION_URL_PREFIX) ? path.slice(0, -'{proxy+}'.length) : path;
    return `${this.address.publicUrl}${HTTP_TRIGGER_PREFIX}${shown}`;
  }

  /** The function URL (`…/http/fn/<name>/`) of a function (and qualifier), if it has one. */
  functionUrl(functionName: string, qualifier = '$LATEST'): string | null {
    const path = this.functionUrls.get(`${functionName}|${qualifier}`);
    return path ? this.urlOf(path) : null;
  }

  /**
   * A function URL (Lambda's CreateFunctionUrlConfig): a thin shortcut that creates the HTTP
   * trigger `ANY /fn/<function>[:<qualifier>]/{proxy+}`. Errors name this input's fields.
   */
  async createFunctionUrl(principal: Principal, input: FunctionUrlInput): Promise<{ trigger: TriggerRow; url: string }> {
    const functionName = requireFunctionName(input.functionName, 'functionName');
    const qualifier = requireQualifier(input.qualifier, 'qualifier');
    const name = input.name ?? `${functionName}${qualifier === '$LATEST' ? '' : `-${qualifier}`}-url`;
    if (input.name == null && name.length > 64) throw badInput('name', `the default name ${name} is over 64 characters: give a name`);
    const path = functionUrlPath(functionName, qualifier);
    let trigger: TriggerRow;
    try {
      trigger = await this.triggers.create(principal, {
        name,
        functionName,
        qualifier,
        http: { method: 'ANY', path, auth: input.auth, cors: input.cors, invokeMode: input.invokeMode },
      });
    } catch (err) {
      if (!(err instanceof AppError) || !err.field?.startsWith('http.')) throw err;
      if (err.field === 'http.path' && err.code === 'CONFLICT') {
        throw new AppError(
          'CONFLICT',
          `${functionName}${qualifier === '$LATEST' ? '' : `:${qualifier}`} already has a function URL`,
          'functionName',
        );
      }
      throw new AppError(err.code, err.message, err.field.replace('http.', ''));
    }
    // this server serves it at once (the others on their NOTIFY)
    await this.refresh();
    return { trigger, url: this.urlOf(path) };
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      void this.refresh().catch((err) => this.log.warn({ err }, 'HTTP routes not reloaded'));
    }, POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Rebuilds the table from the database. Calls made while a load runs share one more load that
   * starts after it (so every change committed before the call is seen when it resolves).
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const previous = this.current;
    const next = (async () => {
      await previous?.catch(() => {});
      this.queued = null;
      await this.load();
    })();
    this.queued = next;
    this.current = next;
    return next;
  }

  private async load(): Promise<void> {
    const rows = await httpTriggers(this.sql);
    const table = new RouteTable<HttpRoute>();
    const urls = new Map<string, string>();
    for (const row of rows) {
      const config = row.config as HttpTriggerConfig;
      let template: RouteTemplate;
      try {
        template = routeTemplate(config.method, config.path);
      } catch (err) {
        this.log.error({ err, trigger: row.name }, 'HTTP trigger with an invalid stored route: skipped');
        continue;
      }
      if (config.path.startsWith(FUNCTION_URL_PREFIX)) urls.set(`${row.functionName}|${row.qualifier}`, config.path);
      if (!row.enabled) continue;
      const route: HttpRoute = {
        triggerId: row.id,
        triggerName: row.name,
        functionName: row.functionName,
        qualifier: row.qualifier,
        auth: config.auth,
        cors: config.cors ?? null,
        invokeMode: config.invokeMode ?? 'BUFFERED',
        template,
      };
      if (!table.add(template, route))
        this.log.error({ trigger: row.name, route: template.routeKey }, 'two HTTP triggers with one route: the first is served');
    }
    this.table = table;
    this.functionUrls = urls;
  }
}
