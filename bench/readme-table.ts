// The README's bench section shows the bench's summary table as last measured. docs/bench-table.json
// keeps each figure's rows with when and on what machine they were measured; a run (`npm run bench`,
// a BENCH_ONLY subset, or `npm run bench:soak`) replaces the rows of the figures it measured, keeps
// the others with their own dates, and writes the table into README.md between the bench-table
// markers. Both files are committed, so the table in the README is what the JSON says.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const START_MARKER = '<!-- bench-table:start -->';
export const END_MARKER = '<!-- bench-table:end -->';
/** the group of a run's rows that belong to none of the figures it ran (a set-up step that crashed) */
const RUN_ROWS = '';

/** When and on what a set of rows was measured. */
export interface Measured {
  /** ISO time the run started */
  at: string;
  cpus: number;
  /** one-minute load average when the run started */
  load: number;
}

export interface BenchRun extends Measured {
  /** the figures the run was asked for: numbers as BENCH_ONLY lists them, or `soak` */
  figures: string[];
  rows: Row[];
}

export interface BenchTable {
  lastRun: Measured & { figures: string[] };
  /** per figure (its number, or `soak`), the rows of the last run that measured it */
  figures: Record<string, Measured & { rows: Row[] }>;
}

/** The figure a row belongs to: its leading number (`9d. cold start …` → `9`), or its leading word (`soak: …`). */
function figureOf(row: Row): string {
  return /^(\d+|[a-z]+)/i.exec(row.figure)?.[1]?.toLowerCase() ?? RUN_ROWS;
}

/**
 * The table after `run`: each figure that has rows in the run gets exactly those rows (a row the
 * figure no longer records goes); a figure the run asked for but that recorded nothing keeps its
 * earlier rows and date, as does every figure the run did not measure. Rows of no figure the run
 * asked for are kept only until the next run.
 */
export function mergeRun(previous: BenchTable | null, run: BenchRun): BenchTable {
  const measured: Measured = { at: run.at, cpus: run.cpus, load: run.load };
  const figures = Object.fromEntries(Object.entries(previous?.figures ?? {}).filter(([figure]) => figure !== RUN_ROWS));
  const fresh: Record<string, Row[]> = {};
  for (const row of run.rows) {
    const figure = run.figures.includes(figureOf(row)) ? figureOf(row) : RUN_ROWS;
    (fresh[figure] ??= []).push(row);
  }
  for (const [figure, rows] of Object.entries(fresh)) figures[figure] = { ...measured, rows };
  return { lastRun: { ...measured, figures: run.figures }, figures };
}

/** Figures in bench order: the unassigned rows of the last run first, then by number, then the named modes. */
function order(a: string, b: string): number {
  const rank = (f: string) => (f === RUN_ROWS ? 0 : /^\d+$/.test(f) ? 1 : 2);
  return rank(a) - rank(b) || Number(a) - Number(b) || a.localeCompare(b);
}

const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const when = (m: Measured) => `${m.at.slice(0, 16).replace('T', ' ')} UTC`;
const machine = (m: Measured) => `${m.cpus} cores, load ${m.load.toFixed(1)}`;
const ran = (figures: string[]) =>
  figures.length === 1 && !/^\d/.test(figures[0]!) ? `the ${figures[0]}` : `figure${figures.length === 1 ? '' : 's'} ${figures.join(', ')}`;

/** The markdown between the markers: what the last run measured, then every figure's rows with their date. */
export function renderTable(table: BenchTable): string {
  const last = table.lastRun;
  const lines = [
    '<!-- written by the bench (bench/readme-table.ts) from docs/bench-table.json; not by hand -->',
    `Last run: ${when(last)}, ${ran(last.figures)}, on ${machine(last)} (load average at its start). ` +
      'Rows the last run did not measure keep the date they were measured.',
    '',
    '| figure | value | baseline (same run) | target | verdict | measured |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const figure of Object.keys(table.figures).sort(order)) {
    const group = table.figures[figure]!;
    for (const r of group.rows)
      lines.push(
        `| ${[r.figure, r.value, r.baseline, r.target, r.verdict === 'INFO' ? '-' : r.verdict, `${when(group)}, ${machine(group)}`].map(cell).join(' | ')} |`,
      );
  }
  return lines.join('\n');
}

/** `readme` with what lies between the markers replaced by `block`. */
export function spliceBetweenMarkers(readme: string, block: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START_MARKER} … ${END_MARKER} section for the bench table`);
  return `${readme.slice(0, start + START_MARKER.length)}\n${block}\n${readme.slice(end)}`;
}

/** Merges the run into docs/bench-table.json and writes the table into README.md; returns the README's path. */
export async function writeBenchTable(run: BenchRun, root = ROOT): Promise<string> {
  const jsonFile = path.join(root, 'docs', 'bench-table.json');
  const readmeFile = path.join(root, 'README.md');
  const previous = await fs.readFile(jsonFile, 'utf8').then(
    (text) => JSON.parse(text) as BenchTable,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    },
  );
  const table = mergeRun(previous, run);
  const readme = spliceBetweenMarkers(await fs.readFile(readmeFile, 'utf8'), renderTable(table));
  await fs.writeFile(jsonFile, `${JSON.stringify(table, null, 2)}\n`);
  await fs.writeFile(readmeFile, readme);
  return readmeFile;
}
