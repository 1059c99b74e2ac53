import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

// Resolved from this module, not the cwd, so the server can start from any directory.
export const migrationsFolder = fileURLToPath(new URL('../../../migrations', import.meta.url));

export async function runMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One server at a time: two replicas starting together must not race on the same DDL.
    await client`select pg_advisory_lock(7263001)`;
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end();
  }
}
