// Browser bundles the server serves (the GraphiQL explorer, the web console), built by esbuild from
// the repository's sources on the first request and kept in memory: no build step before `npm
// start`, and it works offline. A failed build is logged and retried on the next request.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response, Router } from 'express';
import type { Logger } from 'pino';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Bundle {
  js: string;
  css: string;
}

/** esbuild's entry: source text (resolved from the repository root) or a file. */
export type Entry = { contents: string } | { file: string };

export async function buildBundle(entry: Entry, name: string): Promise<Bundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    ...('contents' in entry
      ? { stdin: { contents: entry.contents, resolveDir: REPO_ROOT, loader: 'js' as const } }
      : { entryPoints: [entry.file] }),
    bundle: true,
    minify: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    outdir: name,
    entryNames: name,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
    legalComments: 'none',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}

/**
 * GET <prefix>/<name>.js and .css from a bundle built on first use; returns `warm()`, which starts
 * the build early (when the page that loads them is served).
 */
export function serveBundle(router: Router, prefix: string, name: string, entry: Entry, log: Logger): { warm(): void } {
  let bundle: Promise<Bundle> | null = null;
  const load = () => {
    bundle ??= buildBundle(entry, name).catch((err) => {
      bundle = null;
      throw err;
    });
    return bundle;
  };
  const asset = (kind: keyof Bundle, type: string) => async (_req: Request, res: Response) => {
    try {
      const built = await load();
      res.type(type).setHeader('cache-control', 'no-cache').send(built[kind]);
    } catch (err) {
      log.error({ err }, `the ${name} bundle could not be built`);
      res.status(500).type('text/plain').send(`the ${name} could not be built; see the server log`);
    }
  };
  router.get(`${prefix}/${name}.js`, asset('js', 'application/javascript'));
  router.get(`${prefix}/${name}.css`, asset('css', 'text/css'));
  return { warm: () => void load().catch(() => {}) };
}
