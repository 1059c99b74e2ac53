// The client's typed documents (src/client/gql) are generated from schema.graphql and the graphql(...)
// documents in src/client and src/cli by `npm run client:generate`. A document or schema change
// without regenerating would leave graphql(...) returning nothing for the changed text at run time.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../support/processes.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT = path.join(repoRoot, 'src/client/gql');

describe('the typed client documents', () => {
  it('are what `npm run client:generate` writes from the committed schema', async () => {
    // the npm script's own run, written inside the checkout (.test-data is ignored) instead of over src/
    mkdirSync(path.join(repoRoot, '.test-data'), { recursive: true });
    const fresh = mkdtempSync(path.join(repoRoot, '.test-data', 'client-gql-'));
    try {
      const generated = await run('npm', ['run', '-s', 'client:generate'], {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CLIENT_GQL_OUT: `${path.relative(repoRoot, fresh)}/`,
      });
      expect(generated.code, generated.stderr).toBe(0);
      const names = readdirSync(fresh).sort();
      expect(names.length).toBeGreaterThan(0);
      expect(readdirSync(OUTPUT).sort()).toEqual(names);
      for (const name of names) {
        const committed = readFileSync(path.join(OUTPUT, name), 'utf8');
        expect(committed, `src/client/gql/${name} is stale: run npm run client:generate`).toBe(
          readFileSync(path.join(fresh, name), 'utf8'),
        );
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 120_000);
});
