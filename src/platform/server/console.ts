// The web console at GET / (a browser's request for HTML): the React app in console/, bundled on
// the first request (bundles.ts). It talks to this server's public API only, as any client does.
import path from 'node:path';
import { Router } from 'express';
import type { Logger } from 'pino';
import { REPO_ROOT, serveBundle } from './bundles.js';

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>emberplane</title>
  <link rel="stylesheet" href="/console/console.css">
</head>
<body>
  <div id="console">Loading the console…</div>
  <script src="/console/console.js"></script>
</body>
</html>
`;

export function consoleRoutes(log: Logger): Router {
  const router = Router();
  const bundle = serveBundle(router, '/console', 'console', { file: path.join(REPO_ROOT, 'console/src/main.tsx') }, log);
  router.get('/', (req, res, next) => {
    if (req.accepts(['json', 'html']) !== 'html') return next();
    bundle.warm();
    res.type('html').setHeader('cache-control', 'no-cache').send(PAGE);
  });
  return router;
}
