// `npm run schema:write`: writes the schema's SDL to schema.graphql at the repo root, the committed
// contract that test/unit/schema-sdl.test.ts compares the code against.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildApiSchema } from './schema.js';

export const SDL_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../schema.graphql');

export async function apiSdl(): Promise<string> {
  // sorted: type-graphql's order follows module load order, which differs between tsx and vitest
  return `${printSchema(lexicographicSortSchema(await buildApiSchema()))}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await fs.writeFile(SDL_PATH, await apiSdl());
  console.log(`wrote ${SDL_PATH}`);
}
