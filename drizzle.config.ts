import { defineConfig } from 'drizzle-kit';
// Every module describes its own tables in its tables.ts (platform-wide ones in src/platform/db/tables.ts).
export default defineConfig({ dialect: 'postgresql', schema: './src/**/tables.ts', out: './migrations' });
