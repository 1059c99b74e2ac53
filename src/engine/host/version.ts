import { readFileSync } from 'node:fs';

// package.json sits three levels up from src/engine/host/ and from dist/engine/host/ alike
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

/** The emberplane version this install runs: a host and its control plane must run the same. */
export const EMBERPLANE_VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
