// HTTP triggers in GraphQL: Trigger.http, createFunctionUrl and Function.url.
import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { LambdaFunction } from '../../../functions/graphql.js';
import { CreateFunctionUrlInput, HttpSource, type HttpAuthType, type HttpRouteMethod, type InvokeMode } from './graphql.js';
import { CreateFunctionUrlPayload, Trigger } from '../../graphql.js';
import { FUNCTION_URL_PREFIX, type HttpTriggerConfig } from './source.js';
import type { Context } from '../../../platform/graphql/context.js';
import { toTrigger, type TriggerObject } from '../../resolvers.js';
import type { HttpRouteService } from './route-table.js';

@Resolver(() => Trigger)
export class HttpTriggerResolver {
  constructor(private readonly httpRoutes: HttpRouteService) {}

  @FieldResolver(() => HttpSource, { nullable: true, description: 'The route of an HTTP trigger (null for other sources)' })
  http(@Root() trigger: TriggerObject): HttpSource | null {
    if (trigger.row.sourceType !== 'HTTP') return null;
    const config = trigger.row.config as unknown as HttpTriggerConfig;
    const functionUrl = config.path.startsWith(FUNCTION_URL_PREFIX);
    return {
      method: config.method as HttpRouteMethod,
      path: config.path,
      routeKey: `${config.method} ${config.path}`,
      auth: config.auth as HttpAuthType,
      url: this.httpRoutes.urlOf(config.path),
      cors: config.cors,
      functionUrl,
      invokeMode: (config.invokeMode ?? 'BUFFERED') as InvokeMode,
    };
  }

  @Authorized('triggers:CreateTrigger')
  @Mutation(() => CreateFunctionUrlPayload, {
    description: 'A function URL: an HTTP trigger ANY /fn/<function>[:<qualifier>]/{proxy+} served at /http/fn/<function>/',
  })
  async createFunctionUrl(@Arg('input', () => CreateFunctionUrlInput) input: CreateFunctionUrlInput, @Ctx() ctx: Context) {
    const { trigger, url } = await this.httpRoutes.createFunctionUrl(ctx.principal!, { ...input });
    return { url, trigger: toTrigger(trigger) };
  }
}

@Resolver(() => LambdaFunction)
export class FunctionUrlResolver {
  constructor(private readonly httpRoutes: HttpRouteService) {}

  @FieldResolver(() => String, { nullable: true, description: 'The function URL of $LATEST, if it has one (createFunctionUrl)' })
  url(@Root() fn: LambdaFunction): string | null {
    return this.httpRoutes.functionUrl(fn.name);
  }
}
