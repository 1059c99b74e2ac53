import fs from 'node:fs/promises';
import { expect, it } from 'vitest';
import { apiSdl, SDL_PATH } from '../../src/api-schema.js';

it('the committed schema.graphql is the schema the code builds (regenerate: npm run schema:write)', async () => {
  const committed = await fs.readFile(SDL_PATH, 'utf8');
  expect(await apiSdl(), 'schema.graphql is out of date: run `npm run schema:write` and commit it').toBe(committed);
});
