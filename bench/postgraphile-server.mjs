// The read-path peer of figure 18a: PostGraphile 4 over the bench's own Postgres and rows, in a
// process of its own (its CPU is measured apart from ours). Settings as its docs recommend for
// production: no GraphiQL, no watch mode, the schema built once at start-up, dynamic JSON off.
// Prints `listening <port>` once it answers.
// Its install (a directory of its own, see bench/peers.ts) is the first argument: PostGraphile 4
// wants graphql 15, the project has 16.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [installDir, databaseUrl] = process.argv.slice(2);
const { postgraphile } = await import(pathToFileURL(path.join(installDir, 'node_modules', 'postgraphile', 'index.js')).href);
const middleware = postgraphile(databaseUrl, 'public', {
  graphiql: false,
  watchPg: false,
  disableQueryLog: true,
  ignoreRBAC: true,
  retryOnInitFail: false,
  setofFunctionsContainNulls: false,
  legacyRelations: 'omit',
});
const server = http.createServer(middleware);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`listening ${address.port}\n`);
});
