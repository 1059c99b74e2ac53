// Every relative link in README.md and docs/*.md leads somewhere: the file (or directory) exists in
// the repository, and an #anchor names a heading of the Markdown file it points into.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchors, links } from './markdown.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pages = [
  'README.md',
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

function brokenLinks(page: string): string[] {
  const file = path.join(root, page);
  const broken: string[] = [];
  for (const { target, line } of links(fs.readFileSync(file, 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
    const dest = rawPath === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rawPath));
    const where = `${page}:${line} → ${target}`;
    if (!dest.startsWith(root + path.sep) && dest !== root) broken.push(`${where}: outside the repository`);
    else if (!fs.existsSync(dest)) broken.push(`${where}: no such file`);
    else if (anchor !== undefined && dest.endsWith('.md') && !anchors(fs.readFileSync(dest, 'utf8')).has(anchor)) {
      broken.push(`${where}: no heading with that anchor`);
    }
  }
  return broken;
}

describe('documentation links', () => {
  it('finds the pages and their links', () => {
    expect(pages).toContain('docs/configuration.md');
    expect(links(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(10);
  });

  it.each(pages)('%s: every relative link resolves', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('reports a missing file and a missing anchor', () => {
    const tmp = path.join(root, 'docs', `.links-selftest-${process.pid}.md`);
    fs.writeFileSync(tmp, '# Title\n\n[ok](#title) [gone](nothing-here.md) [bad](#no-such) `[code](x.md)`\n```\n[fenced](y.md)\n```\n');
    try {
      expect(brokenLinks(path.relative(root, tmp))).toEqual([
        expect.stringContaining('nothing-here.md: no such file'),
        expect.stringContaining('#no-such: no heading with that anchor'),
      ]);
    } finally {
      fs.rmSync(tmp);
    }
  });
});
