// What the CLI prints: `--output json` (the API's data as is, for scripts and jq) or `table`
// (columns for people). Progress of transfers goes to stderr, never mixed into the output.

export type OutputFormat = 'json' | 'table';

export interface Column<T> {
  header: string;
  value(row: T): unknown;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Rows as aligned columns (json: the rows themselves). */
export function printRows<T>(format: OutputFormat, rows: T[], columns: Column<T>[]): void {
  if (format === 'json') {
    printJson(rows);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  process.stdout.write(`${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`);
}

/** One record as "key  value" lines (json: the record). */
export function printRecord(format: OutputFormat, record: Record<string, unknown>): void {
  if (format === 'json') {
    printJson(record);
    return;
  }
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  process.stdout.write(
    `${Object.entries(record)
      .map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`)
      .join('\n')}\n`,
  );
}

/** A log line: `<at> <stream> <text>`, or one JSON object per line. */
export function printLine(format: OutputFormat, line: { at: string; stream: string; text: string }): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(line)}\n` : `${line.at} ${line.stream} ${line.text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A transfer's progress bar on stderr, redrawn in place; `done()` ends its line. */
export function progressBar(label: string, enabled: boolean): { update(moved: number, total: number | null): void; done(): void } {
  let last = -1;
  const draw = (moved: number, total: number | null) => {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    if (total === null || total === 0) return `${label} ${mib(moved)}`;
    const share = Math.min(1, moved / total);
    const filled = Math.round(share * 30);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${Math.floor(share * 100)}% ${mib(moved)}/${mib(total)}`;
  };
  return {
    update(moved, total) {
      if (!enabled) return;
      const percent = total ? Math.floor((moved / total) * 100) : moved;
      if (percent === last) return;
      last = percent;
      process.stderr.write(`\r${draw(moved, total)}`);
    },
    done() {
      if (enabled && last !== -1) process.stderr.write('\n');
    },
  };
}
