// GraphQL shapes of HTTP triggers (API Gateway HTTP API routes) and function URLs.
import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum HttpRouteMethod {
  GET = 'GET',
  POST = 'POST',
  PUT = 'PUT',
  PATCH = 'PATCH',
  DELETE = 'DELETE',
  HEAD = 'HEAD',
  OPTIONS = 'OPTIONS',
  ANY = 'ANY',
}
export enum HttpAuthType {
  NONE = 'NONE',
  API_KEY = 'API_KEY',
}
export enum InvokeMode {
  BUFFERED = 'BUFFERED',
  RESPONSE_STREAM = 'RESPONSE_STREAM',
}
registerEnumType(InvokeMode, {
  name: 'InvokeMode',
  description:
    "A function URL's invoke mode (Lambda's): BUFFERED sends the response once the function returns (6 MB at most); " +
    'RESPONSE_STREAM sends it as a function wrapped in awslambda.streamifyResponse writes it (20 MB at most), status and ' +
    "headers from its awslambda.HttpResponseStream metadata; a function that isn't streamified is answered buffered",
});
registerEnumType(HttpRouteMethod, {
  name: 'HttpRouteMethod',
  description: 'ANY matches every method a more specific route of the same path does not take',
});
registerEnumType(HttpAuthType, {
  name: 'HttpAuthType',
  description:
    'API_KEY: `Authorization: Bearer <key>` with a key allowed triggers:InvokeHttp (401 without a valid key, 403 without the action)',
});

@InputType({ description: 'CORS of a route (API Gateway HTTP API settings): preflights are answered without invoking the function' })
export class CorsInput {
  @Field(() => [String], { nullable: true, description: 'origins like https://app.example.com, or "*"' }) allowOrigins?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'methods, or "*"' }) allowMethods?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'request headers, or "*"' }) allowHeaders?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'response headers the browser may read' }) exposeHeaders?: string[] | null;
  @Field(() => Int, { nullable: true, description: 'seconds a preflight answer may be cached (0-86400)' }) maxAge?: number | null;
  @Field(() => Boolean, { nullable: true, description: 'not with allowOrigins "*"' }) allowCredentials?: boolean | null;
}

@InputType({ description: 'An HTTP route served at /http<path> on the main port; the function gets an API Gateway payload 2.0 event' })
export class HttpSourceInput {
  @Field(() => HttpRouteMethod) method!: HttpRouteMethod;
  @Field(() => String, { description: 'e.g. /items/{id} or /files/{path+} (a greedy last parameter)' }) path!: string;
  @Field(() => HttpAuthType, { nullable: true, description: 'default NONE' }) auth?: HttpAuthType | null;
  @Field(() => CorsInput, { nullable: true }) cors?: CorsInput | null;
  @Field(() => InvokeMode, { nullable: true, description: 'function URL routes only (ANY /fn/…); default BUFFERED' })
  invokeMode?: InvokeMode | null;
}

@ObjectType()
export class Cors {
  @Field(() => [String]) allowOrigins!: string[];
  @Field(() => [String]) allowMethods!: string[];
  @Field(() => [String]) allowHeaders!: string[];
  @Field(() => [String]) exposeHeaders!: string[];
  @Field(() => Int, { nullable: true }) maxAge!: number | null;
  @Field(() => Boolean) allowCredentials!: boolean;
}

@ObjectType({ description: "An HTTP trigger's route" })
export class HttpSource {
  @Field(() => HttpRouteMethod) method!: HttpRouteMethod;
  @Field(() => String) path!: string;
  @Field(() => String, { description: 'API Gateway\'s routeKey, e.g. "GET /items/{id}"' }) routeKey!: string;
  @Field(() => HttpAuthType) auth!: HttpAuthType;
  @Field(() => String, { description: 'where it is served (path parameters left in braces)' }) url!: string;
  @Field(() => Cors, { nullable: true }) cors!: Cors | null;
  @Field(() => Boolean, { description: 'a function URL (ANY /fn/<function>[:<qualifier>]/{proxy+})' }) functionUrl!: boolean;
  @Field(() => InvokeMode, { description: 'BUFFERED but for function URLs created with RESPONSE_STREAM' }) invokeMode!: InvokeMode;
}

@InputType({ description: 'A function URL: an HTTP trigger with the route ANY /fn/<function>[:<qualifier>]/{proxy+}' })
export class CreateFunctionUrlInput {
  @Field(() => String) functionName!: string;
  @Field(() => String, {
    nullable: true,
    description: '$LATEST (default) or an alias/version: the URL is then /http/fn/<function>:<qualifier>/',
  })
  qualifier?: string | null;
  @Field(() => HttpAuthType) auth!: HttpAuthType;
  @Field(() => CorsInput, { nullable: true }) cors?: CorsInput | null;
  @Field(() => InvokeMode, { nullable: true, description: 'default BUFFERED' }) invokeMode?: InvokeMode | null;
  @Field(() => String, { nullable: true, description: "the trigger's name (default <function>-url, or <function>-<qualifier>-url)" }) name?:
    | string
    | null;
}
