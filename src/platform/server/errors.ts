import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../errors.js';

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  THROTTLED: 429,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};
export const httpStatusOf = (code: ErrorCode) => HTTP_STATUS[code];

// graphql-js's codes and the HTTP handler's (Apollo Server's names) for malformed requests all mean "your input is wrong".
const REQUEST_ERRORS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function unwrap(error: unknown): unknown {
  let e = error;
  while (e instanceof GraphQLError && e.originalError && e.originalError !== e) e = e.originalError;
  return e;
}

/** Variable coercion messages name the bad spot (`at "input.instanceGroups[0].count"`): use it as the field. */
function fieldFromMessage(message: string): string | undefined {
  const at = /at "([^"]+)"/.exec(message);
  if (at) return at[1]!.replace(/\[(\d+)\]/g, '.$1');
  const variable = /Variable "\$([^"]+)"/.exec(message);
  return variable?.[1];
}

/** The one error switch at the API edge: codes, field paths, no stacks; unexpected errors are logged. */
export function formatError(formatted: GraphQLFormattedError, error: unknown, log: Logger, requestId?: string): GraphQLFormattedError {
  const original = unwrap(error);
  const path = formatted.path;
  if (original instanceof AppError) {
    return {
      message: original.message,
      path,
      locations: formatted.locations,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...original.extensions },
    };
  }
  // graphql-js's own errors (parse, validation, variable coercion) carry no originalError and, over
  // graphql-ws, no code: they are about the request too
  // Postgres "data exception" (SQLSTATE class 22): a value the user sent that the database can't
  // take (a NUL in an id, a date out of range). The services check what they can; this is the net.
  const sqlState = (original as { code?: unknown } | null)?.code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return { message: 'a value in the request is not valid', path, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT' } };
  }
  // a graphql-js error of its own with no path was raised before execution (parse, validation,
  // variable coercion, including its "Too many errors" stop)
  const beforeExecution = original instanceof GraphQLError && !original.originalError && !path;
  const given = formatted.extensions?.code as string | undefined;
  const code = beforeExecution && (given === undefined || given === 'INTERNAL_SERVER_ERROR') ? 'GRAPHQL_VALIDATION_FAILED' : given;
  if (code && REQUEST_ERRORS.has(code)) {
    const field = fieldFromMessage(formatted.message);
    return {
      message: formatted.message,
      locations: formatted.locations,
      extensions: { code: 'BAD_USER_INPUT', reason: code, ...(field ? { field } : {}) },
    };
  }
  log.error({ err: original, requestId, path }, 'unexpected error while handling a request');
  return {
    message: `Internal error${requestId ? ` (request id ${requestId})` : ''}`,
    path,
    extensions: { code: 'INTERNAL' },
  };
}
