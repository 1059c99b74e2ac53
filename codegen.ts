// Typed documents for the client and the CLI (`npm run client:generate`): every `graphql(...)` document in
// src/client, src/cli, examples and console/src is checked against the committed schema.graphql and gets its result and variable
// types in src/client/gql/. test/unit/client-documents.test.ts fails when the generated files are stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

// the test writes a fresh copy elsewhere to compare (CLIENT_GQL_OUT)
const output = process.env.CLIENT_GQL_OUT || 'src/client/gql/';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/**/*.ts', 'src/cli/**/*.ts', 'examples/**/*.ts', 'console/src/**/*.tsx', '!src/client/gql/**'],
  ignoreNoDocuments: false,
  // ESM: relative imports with their .js extension
  emitLegacyCommonJSImports: false,
  generates: {
    [output]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', BigInt: 'string' },
        skipTypename: true,
      },
    },
  },
};
export default config;
