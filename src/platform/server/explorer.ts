import { Router } from 'express';
import type { Logger } from 'pino';
import { serveBundle } from './bundles.js';

/**
 * The GraphQL explorer at GET /graphql (a browser's request for HTML): GraphiQL from npm, bundled
 * by esbuild on the first request and kept in memory, so it works offline with no build step.
 * Queries and mutations go over HTTP, subscriptions over graphql-ws; the headers editor's
 * `Authorization` is sent with both (as graphql-ws connection params for subscriptions).
 */
const ENTRY = `
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';

const url = new URL('/graphql', location.href).href;
const fetcher = createGraphiQLFetcher({ url, subscriptionUrl: url.replace(/^http/, 'ws'), enableIncrementalDelivery: false });
createRoot(document.getElementById('graphiql')).render(createElement(GraphiQL, {
  fetcher,
  defaultHeaders: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
  shouldPersistHeaders: true,
  isHeadersEditorEnabled: true,
}));
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>emberplane GraphQL explorer</title>
  <link rel="stylesheet" href="/graphql/explorer/explorer.css">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading the explorer…</div>
  <script src="/graphql/explorer/explorer.js"></script>
</body>
</html>
`;

export function explorerRoutes(log: Logger): Router {
  const router = Router();
  const bundle = serveBundle(router, '/graphql/explorer', 'explorer', { contents: ENTRY }, log);
  // a browser asks for HTML; GraphQL GET requests (with ?query=) go on to the GraphQL handler
  router.get('/graphql', (req, res, next) => {
    if (req.query.query !== undefined || req.accepts(['json', 'html']) !== 'html') return next();
    bundle.warm(); // start bundling while the page loads
    res.type('html').send(PAGE);
  });
  return router;
}
