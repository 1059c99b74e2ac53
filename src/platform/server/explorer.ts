import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';

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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Bundle {
  js: string;
  css: string;
}

async function build(): Promise<Bundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    minify: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    outdir: 'explorer',
    entryNames: 'explorer',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
    legalComments: 'none',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}

export function explorerRoutes(log: Logger): Router {
  let bundle: Promise<Bundle> | null = null;
  const load = () => {
    bundle ??= build().catch((err) => {
      bundle = null; // a failed build is retried on the next request
      throw err;
    });
    return bundle;
  };
  const asset = (kind: keyof Bundle, type: string) => async (_req: Request, res: Response) => {
    try {
      const built = await load();
      res.type(type).setHeader('cache-control', 'no-cache').send(built[kind]);
    } catch (err) {
      log.error({ err }, 'the GraphQL explorer could not be bundled');
      res.status(500).type('text/plain').send('the explorer could not be built; see the server log');
    }
  };

  const router = Router();
  router.get('/graphql/explorer/explorer.js', asset('js', 'application/javascript'));
  router.get('/graphql/explorer/explorer.css', asset('css', 'text/css'));
  // a browser asks for HTML; GraphQL GET requests (with ?query=) go on to Apollo
  router.get('/graphql', (req, res, next) => {
    if (req.query.query !== undefined || req.accepts(['json', 'html']) !== 'html') return next();
    void load().catch(() => {}); // start bundling while the page loads
    res.type('html').send(PAGE);
  });
  return router;
}
