// The whole API's schema: every module's resolver classes. `npm run schema:write` writes its SDL to
// schema.graphql at the repo root, the committed contract test/unit/schema-sdl.test.ts checks.
import 'reflect-metadata';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { accessResolvers } from './access/module.js';
import { clustersResolvers } from './clusters/module.js';
import { functionsResolvers } from './functions/module.js';
import { hostsResolvers } from './hosts/module.js';
import { logsResolvers } from './logs/module.js';
import { messagingResolvers } from './messaging/module.js';
import type { ResolverInstances } from './platform/graphql/context.js';
import { buildApiSchema } from './platform/graphql/schema.js';
import { sqlResolvers } from './sql/module.js';
import { storageResolvers } from './storage/module.js';
import { triggersResolvers } from './triggers/module.js';

export const SDL_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema.graphql');

const RESOLVER_CLASSES = [
  ...accessResolvers,
  ...logsResolvers,
  ...storageResolvers,
  ...hostsResolvers,
  ...functionsResolvers,
  ...messagingResolvers,
  ...clustersResolvers,
  ...sqlResolvers,
  ...triggersResolvers,
];

/** The schema, resolving through the modules' resolver objects when given (a running server). */
export function apiSchema(instances?: ResolverInstances): Promise<GraphQLSchema> {
  return buildApiSchema(RESOLVER_CLASSES, instances);
}

export async function apiSdl(): Promise<string> {
  // sorted: type-graphql's order follows module load order, which differs between tsx and vitest
  return `${printSchema(lexicographicSortSchema(await apiSchema()))}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await fs.writeFile(SDL_PATH, await apiSdl());
  console.log(`wrote ${SDL_PATH}`);
}
