import fs from 'node:fs';
import { version } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';

// The install script fetches add-ons built for exact versions of what npm installs: an upgrade of one
// without the other would leave SQL steps unable to load DuckDB's httpfs.
describe('spark:install pins', () => {
  it("fetches DuckDB's httpfs for the DuckDB version @duckdb/node-api is", () => {
    const script = fs.readFileSync(new URL('../../scripts/spark-install.sh', import.meta.url), 'utf8');
    const pinned = /^DUCKDB_VERSION=(\S+)$/m.exec(script)?.[1];
    expect(pinned).toBeDefined();
    expect(`v${pinned}`).toBe(version());
  });
});
