import { getNamedType, isInputObjectType, isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { AppError, fieldPath } from '../errors.js';

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as Promise<unknown> | null)?.then === 'function';

/** The same error with its field path under `argument` (a path-less error is not about an argument: kept as is). */
export function underArgument(error: unknown, argument: string): unknown {
  if (!(error instanceof AppError) || error.field === undefined) return error;
  return new AppError(error.code, error.message, fieldPath(argument, error.field), error.extensions);
}

/**
 * The argument whose object a field's resolver hands to its service: the field's only argument,
 * when that is an input object (every mutation's `input`). Fields with plain arguments
 * (`sqlPreview(clusterId:, query:)`, `logs(first:, after:)`) pass them on one by one, and the
 * services name them as the schema does, so their paths need nothing in front.
 */
function serviceArgument(field: GraphQLField<unknown, unknown>): string | null {
  const [only, ...more] = field.args;
  return only && more.length === 0 && isInputObjectType(getNamedType(only.type)) ? only.name : null;
}

/**
 * Services raise errors with field paths relative to their own arguments (`instanceGroups.0.count`);
 * the API reports them from the GraphQL arguments (`input.instanceGroups.0.count`). This wraps the
 * resolvers of the fields that hand one input object to a service, once, when the schema is built;
 * every other field keeps its resolver untouched (no cost on the read path).
 */
export function reportPathsFromArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const argument = serviceArgument(field);
      const resolve = field.resolve;
      if (argument === null || !resolve) continue;
      field.resolve = (source, args, context, info) => {
        try {
          const result = resolve(source, args, context, info);
          return isPromise(result)
            ? result.catch((err: unknown) => {
                throw underArgument(err, argument);
              })
            : result;
        } catch (err) {
          throw underArgument(err, argument);
        }
      };
    }
  }
  return schema;
}
