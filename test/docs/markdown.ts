// Just enough Markdown for the docs tests: fenced blocks, headings and their GitHub anchors, links.
// Everything inside a fenced block is code (a `# comment` line in a shell block is not a heading).

export interface FencedBlock {
  lang: string;
  body: string;
  line: number;
}
export interface Heading {
  level: number;
  text: string;
  line: number;
}
export interface Link {
  target: string;
  line: number;
}

interface Line {
  text: string;
  number: number;
  inFence: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;

function classify(markdown: string): Line[] {
  const out: Line[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((text, i) => {
    const m = FENCE.exec(text);
    if (fence === null && m) {
      fence = m[2]!;
      out.push({ text, number: i + 1, inFence: true });
    } else if (fence !== null) {
      if (m && m[2]!.startsWith(fence) && m[3]!.trim() === '') fence = null;
      out.push({ text, number: i + 1, inFence: true });
    } else {
      out.push({ text, number: i + 1, inFence: false });
    }
  });
  return out;
}

export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let open: { fence: string; lang: string; line: number; lines: string[] } | null = null;
  markdown.split('\n').forEach((text, i) => {
    const m = FENCE.exec(text);
    if (open === null) {
      if (m) open = { fence: m[2]!, lang: m[3]!.trim(), line: i + 1, lines: [] };
    } else if (m && m[2]!.startsWith(open.fence) && m[3]!.trim() === '') {
      blocks.push({ lang: open.lang, body: open.lines.join('\n'), line: open.line });
      open = null;
    } else {
      open.lines.push(text);
    }
  });
  if (open) throw new Error(`unclosed fenced block at line ${(open as { line: number }).line}`);
  return blocks;
}

export function headings(markdown: string): Heading[] {
  return classify(markdown).flatMap((l) => {
    const m = !l.inFence && /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(l.text);
    return m ? [{ level: m[1]!.length, text: m[2]!, line: l.number }] : [];
  });
}

/** GitHub's anchors: lower case, punctuation dropped (not hyphens or underscores), spaces to hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const h of headings(markdown)) {
    const text = h.text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'); // a link in a heading: its text
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The section under a heading (the heading's line excluded), up to the next heading of the same or a higher level. */
export function section(markdown: string, title: string): string {
  const all = headings(markdown);
  const start = all.find((h) => h.text === title);
  if (!start) throw new Error(`no heading "${title}"`);
  const end = all.find((h) => h.line > start.line && h.level <= start.level);
  const lines = markdown.split('\n');
  return lines.slice(start.line, end ? end.line - 1 : lines.length).join('\n');
}

/** Inline links and images outside code (fenced blocks and `code spans`). */
export function links(markdown: string): Link[] {
  return classify(markdown).flatMap((l) => {
    if (l.inFence) return [];
    const text = l.text.replace(/`[^`]*`/g, '');
    return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({ target: m[1]!, line: l.number }));
  });
}
