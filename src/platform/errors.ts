/** Error codes at the API edge (docs/api.md "Errors"). The switch in src/platform/server/errors.ts must handle every one. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'THROTTLED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

/** An expected failure: reaches the client as `extensions.code` (+ `field`), never as a stack. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly extensions?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * Field paths are relative to the arguments of the service method that raises them (`name`,
 * `instanceGroups.0.count`); the resolver layer puts the GraphQL argument in front
 * (src/platform/graphql/argument-paths.ts). This one names the argument as a whole.
 */
export const WHOLE_ARGUMENT = '';

/** `parent.child`, where an empty parent is the argument itself. */
export const fieldPath = (parent: string, child: string) => (parent && child ? `${parent}.${child}` : parent || child);

export const badInput = (field: string, message: string) => new AppError('BAD_USER_INPUT', message, field);
export const notFound = (what: string, id: string, field?: string) =>
  new AppError('NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`, field);
export const conflict = (message: string, field?: string) => new AppError('CONFLICT', message, field);
