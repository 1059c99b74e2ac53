import crypto from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';

const TEMPLATE_DB = 'emberplane_template';

/** A fresh, migrated database cloned from the run's template. */
export async function createTestDatabase(): Promise<string> {
  const base = inject('pgUrl');
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    // CREATE DATABASE … TEMPLATE needs the template to have no other sessions; retry briefly if it does
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database ${name} template ${TEMPLATE_DB}`);
        break;
      } catch (err) {
        if (attempt > 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await admin.end();
  }
  return base.replace(/\/postgres$/, `/${name}`);
}
