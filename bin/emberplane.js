#!/usr/bin/env node
// The `emberplane` command: runs src/cli/main.ts through tsx's loader in a checkout (src/ is there),
// dist/cli/main.js in a built package. One process either way: signals reach the daemon itself.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/cli/main.ts`;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(`${root}dist/cli/main.js`).href);
}
