import { describe, expect, it } from 'vitest';
import type { Row } from '../../bench/lib.js';
import { END_MARKER, mergeRun, renderTable, START_MARKER, spliceBetweenMarkers } from '../../bench/readme-table.js';

const row = (figure: string, value: string): Row => ({ figure, value, baseline: 'b', target: 't', verdict: 'PASS' });
const first = { at: '2026-12-01T10:00:00.000Z', cpus: 2, load: 0.5 };
const later = { at: '2026-12-07T03:00:00.000Z', cpus: 2, load: 9.25 };

describe('the README bench table', () => {
  const full = mergeRun(null, {
    ...first,
    figures: ['1', '2', '9', '10'],
    rows: [
      row('1. nested, c=16', 'old 1'),
      row('2. statements', 'old 2'),
      row('9a. invoke', 'old 9a'),
      row('9d. cold', 'old 9d'),
      row('10a. HTTP', 'old 10'),
    ],
  });

  it('a subset run replaces the rows of the figures it measured and keeps the others with their date', () => {
    const table = mergeRun(full, { ...later, figures: ['9'], rows: [row('9a. invoke', 'new 9a')] });
    expect(table.lastRun).toEqual({ ...later, figures: ['9'] });
    // figure 9 is its new rows only (9d is gone with the run that recorded it)
    expect(table.figures['9']).toEqual({ ...later, rows: [row('9a. invoke', 'new 9a')] });
    expect(table.figures['1']).toEqual(full.figures['1']);
    expect(table.figures['10']).toEqual(full.figures['10']);
    const text = renderTable(table);
    expect(text).toContain('| 9a. invoke | new 9a | b | t | PASS | 2026-12-07 03:00 UTC, 2 cores, load 9.3 |');
    expect(text).toContain('| 2. statements | old 2 | b | t | PASS | 2026-12-01 10:00 UTC, 2 cores, load 0.5 |');
    expect(text).not.toContain('old 9a');
    expect(text).not.toContain('9d. cold');
  });

  it('orders figures by number, then the named modes such as the soak', () => {
    const table = mergeRun(full, { ...later, figures: ['soak'], rows: [row('soak 60 s: errors', '0')] });
    const order = renderTable(table)
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| figure') && !l.startsWith('| ---'))
      .map((l) => l.split(' | ')[0]);
    expect(order).toEqual(['| 1. nested, c=16', '| 2. statements', '| 9a. invoke', '| 9d. cold', '| 10a. HTTP', '| soak 60 s: errors']);
  });

  it('keeps the earlier rows of a figure the run asked for but that recorded nothing', () => {
    const table = mergeRun(full, { ...later, figures: ['2'], rows: [] });
    expect(table.figures['2']).toEqual(full.figures['2']);
  });

  it('keeps rows of no figure it ran (a set-up that crashed) only until the next run', () => {
    const crashed = mergeRun(full, { ...later, figures: ['1'], rows: [row('seed: 60 clusters', 'error: boom')] });
    expect(renderTable(crashed)).toContain('error: boom');
    expect(crashed.figures['1']).toEqual(full.figures['1']);
    const next = mergeRun(crashed, { ...later, figures: ['2'], rows: [row('2. statements', 'new 2')] });
    expect(renderTable(next)).not.toContain('error: boom');
  });

  it('escapes what would break a markdown table', () => {
    const table = mergeRun(null, { ...later, figures: ['5'], rows: [row('5. logs', 'p50 1 ms | p99 2 ms\nmore')] });
    expect(renderTable(table)).toContain('| 5. logs | p50 1 ms \\| p99 2 ms more |');
  });

  it('writes between the markers and leaves the rest of the README as it was', () => {
    const readme = `# title\n\n## Bench\n\n${START_MARKER}\nold table\n${END_MARKER}\n\n## Next\n`;
    const out = spliceBetweenMarkers(readme, 'new table');
    expect(out).toBe(`# title\n\n## Bench\n\n${START_MARKER}\nnew table\n${END_MARKER}\n\n## Next\n`);
    expect(spliceBetweenMarkers(out, 'new table')).toBe(out);
    expect(() => spliceBetweenMarkers('# no markers\n', 'x')).toThrow(/bench-table:start/);
  });
});
