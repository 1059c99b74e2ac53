// A time-series chart (uPlot): timestamps in seconds and one or more series over them, drawn on a
// canvas. The plot is made once and fed new data as it arrives, so a refresh does not rebuild it.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: Array<number | null>;
}

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];
const WIDTH = 420;
const HEIGHT = 160;

/**
 * The points drawn as dots: every one where uPlot shows points (few enough), else only those with
 * no neighbour, which a line cannot show (a single period with invocations, say).
 */
const isolatedPoints: uPlot.Series.Points.Filter = (u, seriesIdx, show) => {
  if (show) return null;
  const values = u.data[seriesIdx]!;
  const alone: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] != null && values[i - 1] == null && values[i + 1] == null) alone.push(i);
  return alone;
};

export function Chart({ title, unit, times, series }: { title: string; unit?: string; times: number[]; series: Series[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\n');
  const data = [times, ...series.map((s) => s.values)] as uPlot.AlignedData;
  // the plot is rebuilt only when its series change; new data goes through setData below
  useEffect(() => {
    const options: uPlot.Options = {
      width: WIDTH,
      height: HEIGHT,
      series: [
        {},
        ...labels.split('\n').map((label, i) => ({
          label,
          stroke: COLOURS[i % COLOURS.length],
          width: 1.5,
          spanGaps: false,
          points: { filter: isolatedPoints },
        })),
      ],
      axes: [{}, { label: unit, size: 50 }],
      legend: { live: false },
    };
    plot.current = new uPlot(options, data, holder.current!);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels, unit]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={holder} />
      {series.every((s) => s.values.every((v) => v === null)) ? <p className="note">no data in this range</p> : null}
    </figure>
  );
}

/** The windows a chart can show, each with the period its points are gathered over (at most a few hundred points). */
export const WINDOWS = {
  '15 minutes': { seconds: 15 * 60, period: 10 },
  '1 hour': { seconds: 3600, period: 60 },
  '24 hours': { seconds: 86_400, period: 600 },
} as const;
export type Window = keyof typeof WINDOWS;

export function WindowPicker({ value, onChange }: { value: Window; onChange: (w: Window) => void }) {
  return (
    <label>
      Last{' '}
      <select value={value} onChange={(e) => onChange(e.target.value as Window)} aria-label="chart window">
        {Object.keys(WINDOWS).map((w) => (
          <option key={w}>{w}</option>
        ))}
      </select>
    </label>
  );
}

/** How many windows one query's range spans ahead: the range stays the same while the window moves through it. */
const WINDOWS_AHEAD = 7;

/**
 * The window ending now, as `times`: the start of each of its periods in seconds (the x axis, with
 * the periods that have no data kept). And the range to ask the API for, [since, until): a
 * window before a stretch of WINDOWS_AHEAD windows that `now` is in, its start on a whole period
 * (the API bins from the start it is given). The range changes only when `now` leaves that
 * stretch, so the normalized cache holds one entry per stretch and not one per refresh (a moving
 * range would be a new cache entry every ten seconds for the tab's life); within the API's limit
 * of 1,440 periods (8 x 144 at most).
 */
export function rangeOf(window: Window, now = Date.now()): { since: Date; until: Date; period: number; times: number[] } {
  const { seconds, period } = WINDOWS[window];
  const end = Math.ceil(now / 1000 / period) * period;
  const start = end - seconds;
  const stretch = seconds * WINDOWS_AHEAD;
  const stretchStart = Math.floor(start / stretch) * stretch;
  return {
    since: new Date(stretchStart * 1000),
    until: new Date((stretchStart + stretch + seconds) * 1000),
    period,
    times: Array.from({ length: seconds / period }, (_, i) => start + i * period),
  };
}

/** Values at each time of `times` from points at some of them; `missing` where there is none. */
export function alignTo<T>(
  times: number[],
  points: T[],
  at: (p: T) => string,
  value: (p: T) => number | null,
  missing: number | null,
): Array<number | null> {
  const byTime = new Map(points.map((p) => [Math.round(new Date(at(p)).getTime() / 1000), value(p)]));
  return times.map((t) => (byTime.has(t) ? byTime.get(t)! : missing));
}

/** Reads again every `ms` while the page is open (metrics have no subscription). */
export function useEvery(ms: number, read: () => void): void {
  const latest = useRef(read);
  latest.current = read;
  useEffect(() => {
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}
