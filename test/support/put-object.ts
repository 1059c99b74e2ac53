// Objects stored through the GraphQL API, for tests that need a script or data in a bucket.
import type { GqlResponse } from './client.js';

const CREATE_BUCKET = `mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`;
const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { uri } } }`;

interface Server {
  gql(query: string, variables?: Record<string, unknown>): Promise<GqlResponse>;
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** Stores an object through the API (creating its bucket on first use) and returns its s3:// URI. */
export async function putObject(server: Server, bucket: string, key: string, content: string): Promise<string> {
  const created = await server.gql(CREATE_BUCKET, { name: bucket });
  if (created.errors && created.errors[0]?.extensions?.code !== 'CONFLICT') throw new Error(JSON.stringify(created.errors));
  return (await server.data(PUT, { input: { bucket, key, content } })).putObject.object.uri;
}
