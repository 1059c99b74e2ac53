// docs/configuration.md lists every environment variable the server's config module reads, once,
// and nothing that no source file reads.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const page = fs.readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}
const sources = sourceFiles(path.join(root, 'src'));
// wherever the code's reorganization puts it: the module that exports loadConfig
const configModule = sources.find((f) => /export function loadConfig\b/.test(fs.readFileSync(f, 'utf8')));

/** Names the config module reads: env.NAME, env['NAME'], and int(env, 'NAME', …) / onOff(env, 'NAME', …) helpers. */
function namesRead(code: string): Set<string> {
  return new Set(
    [...code.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[\s*'([A-Z][A-Z0-9_]+)'\s*\]|\s*,\s*'([A-Z][A-Z0-9_]+)')/g)].map(
      (m) => (m[1] ?? m[2] ?? m[3])!,
    ),
  );
}

const documented = [...page.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);

describe('docs/configuration.md', () => {
  it('finds the config module and its variables', () => {
    expect(configModule).toBeDefined();
    expect(namesRead(fs.readFileSync(configModule!, 'utf8'))).toContain('PORT');
  });

  it('lists every variable the config module reads', () => {
    const read = [...namesRead(fs.readFileSync(configModule!, 'utf8'))].sort();
    expect(read.filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('lists each variable once', () => {
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
  });

  it('lists only variables some source file reads', () => {
    const all = sources.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(documented.filter((name) => !new RegExp(`\\b${name}\\b`).test(all))).toEqual([]);
  });
});
