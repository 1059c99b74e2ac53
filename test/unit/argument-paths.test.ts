// The resolver layer's one translation of error paths (src/platform/graphql/argument-paths.ts):
// services name fields relative to what they were given, the API names them from the GraphQL
// arguments. Executed with graphql-js on a small schema; end to end, every test/api file that
// asserts an `input.…` field covers it through the real schema.
import { buildSchema, graphql, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AppError, WHOLE_ARGUMENT, badInput, conflict, notFound } from '../../src/platform/errors.js';
import { reportPathsFromArguments } from '../../src/platform/graphql/argument-paths.js';

const SDL = `
  input GroupInput { count: Int }
  input CreateInput { name: String, groups: [GroupInput!] }
  input Filter { nameContains: String }
  type Item { id: ID!, steps(first: Int): [String!] }
  type Payload { item: Item }
  type Query {
    preview(clusterId: ID!, query: String!): String
    items(filter: Filter, first: Int): [Item!]
    item(id: ID!): Item
  }
  type Mutation { create(input: CreateInput!): Payload, createNow(input: CreateInput!): Payload }
`;

/** A schema whose resolvers throw what `raise` gives them, wrapped as the API's is. */
function schemaRaising(raise: (field: string) => unknown): GraphQLSchema {
  const schema = buildSchema(SDL);
  const rejecting: GraphQLFieldResolver<unknown, unknown> = async (_s, _a, _c, info) => {
    throw raise(info.fieldName);
  };
  for (const typeName of ['Query', 'Mutation', 'Item', 'Payload']) {
    for (const field of Object.values((schema.getType(typeName) as GraphQLObjectType).getFields())) field.resolve = rejecting;
  }
  // a resolver that throws before returning a promise
  (schema.getType('Mutation') as GraphQLObjectType).getFields().createNow!.resolve = () => {
    throw raise('createNow');
  };
  (schema.getType('Query') as GraphQLObjectType).getFields().item!.resolve = () => ({ id: 'i-1' });
  (schema.getType('Mutation') as GraphQLObjectType).getFields().create!.resolve = (_s, args) => {
    if ((args as { input: { name?: string } }).input.name === 'payload') return { item: { id: 'i-1' } };
    throw raise('create');
  };
  return reportPathsFromArguments(schema);
}

async function errorOf(schema: GraphQLSchema, source: string): Promise<unknown> {
  const result = await graphql({ schema, source });
  expect(result.errors).toHaveLength(1);
  return result.errors![0]!.originalError;
}

describe('error paths from the GraphQL arguments', () => {
  it('puts the input argument in front of the path a service raised, keeping code, message and extensions', async () => {
    const schema = schemaRaising(() => new AppError('THROTTLED', 'slow down', 'groups.0.count', { reason: 'rate' }));
    const err = await errorOf(schema, 'mutation { create(input: { name: "x" }) { __typename } }');
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'THROTTLED', message: 'slow down', field: 'input.groups.0.count', extensions: { reason: 'rate' } });
  });

  it('names the argument itself for an error about the whole input', async () => {
    const schema = schemaRaising(() => badInput(WHOLE_ARGUMENT, 'give exactly one source'));
    expect(await errorOf(schema, 'mutation { create(input: {}) { __typename } }')).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input',
    });
  });

  it('also when the resolver throws before returning a promise', async () => {
    const schema = schemaRaising(() => notFound('function', 'f', 'functionName'));
    expect(await errorOf(schema, 'mutation { createNow(input: {}) { __typename } }')).toMatchObject({
      code: 'NOT_FOUND',
      field: 'input.functionName',
    });
  });

  it('leaves an error without a field, and errors that are not AppErrors, as they are', async () => {
    const noField = conflict('cluster c-1 is TERMINATED');
    expect(
      await errorOf(
        schemaRaising(() => noField),
        'mutation { create(input: {}) { __typename } }',
      ),
    ).toBe(noField);
    const unexpected = new TypeError('boom');
    expect(
      await errorOf(
        schemaRaising(() => unexpected),
        'mutation { create(input: {}) { __typename } }',
      ),
    ).toBe(unexpected);
  });

  it('leaves the paths of fields with plain arguments, or with more than one argument, as the service named them', async () => {
    const schema = schemaRaising((field) =>
      badInput(field === 'preview' ? 'query' : field === 'items' ? 'filter.nameContains' : 'first', 'is wrong'),
    );
    expect(await errorOf(schema, 'query { preview(clusterId: "c", query: "") }')).toMatchObject({ field: 'query' });
    expect(await errorOf(schema, 'query { items(filter: { nameContains: "x" }) { id } }')).toMatchObject({ field: 'filter.nameContains' });
    expect(await errorOf(schema, 'query { item(id: "i-1") { steps(first: -1) } }')).toMatchObject({ field: 'first' });
  });

  it('does not touch the fields of a mutation payload, which resolve after the mutation returned', async () => {
    const schema = schemaRaising(() => badInput('first', 'is wrong'));
    expect(await errorOf(schema, 'mutation { create(input: { name: "payload" }) { item { steps(first: -1) } } }')).toMatchObject({
      field: 'first',
    });
  });
});
