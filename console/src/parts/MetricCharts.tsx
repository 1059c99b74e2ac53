// Charts of a function (functionMetrics: invocations, errors, duration p50/p99, concurrency,
// throttles, cold starts) and of a cluster (clusterMetrics: steps, nodes, CPU, Spark cores), over
// a chosen window, read again every ten seconds.
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { Chart, WindowPicker, alignTo, rangeOf, useEvery, type Window } from './Chart';
import { Problems } from './common';

const ConsoleFunctionMetrics = graphql(`
  query ConsoleFunctionMetrics($functionName: String!, $since: DateTime!, $until: DateTime!, $periodSeconds: Int!) {
    functionMetrics(functionName: $functionName, since: $since, until: $until, periodSeconds: $periodSeconds) {
      timestamp
      invocations
      errors
      throttles
      coldStarts
      durationP50
      durationP99
      concurrentExecutionsMax
    }
  }
`);

const ConsoleClusterMetrics = graphql(`
  query ConsoleClusterMetrics($clusterId: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime!, $periodSeconds: Int!) {
    clusterMetrics(clusterId: $clusterId, names: $names, from: $from, to: $to, periodSeconds: $periodSeconds) {
      name
      datapoints {
        at
        value
      }
    }
  }
`);

const REFRESH_MS = 10_000;

/** The window's range and what moves it on to now (the query's own range mostly stays the same). */
function useRange(window: Window): [ReturnType<typeof rangeOf>, () => void] {
  const [now, setNow] = useState(Date.now);
  return [useMemo(() => rangeOf(window, now), [window, now]), () => setNow(Date.now())];
}

export function FunctionCharts({ name }: { name: string }) {
  const [window, setWindow] = useState<Window>('15 minutes');
  const [range, moveOn] = useRange(window);
  const [{ data, error }, refresh] = useQuery({
    query: ConsoleFunctionMetrics,
    variables: { functionName: name, since: range.since.toISOString(), until: range.until.toISOString(), periodSeconds: range.period },
    requestPolicy: 'cache-and-network',
  });
  useEvery(REFRESH_MS, () => {
    moveOn();
    refresh({ requestPolicy: 'network-only' });
  });
  const points = data?.functionMetrics ?? [];
  const { times } = range;
  // periods without invocations are absent: their counts are 0, their durations unknown
  const count = (pick: (p: (typeof points)[number]) => number | null) => alignTo(times, points, (p) => p.timestamp, pick, 0);
  const measured = (pick: (p: (typeof points)[number]) => number | null) => alignTo(times, points, (p) => p.timestamp, pick, null);
  return (
    <section aria-label="function metrics">
      <h2>
        Metrics <WindowPicker value={window} onChange={setWindow} />
      </h2>
      <Problems error={error} />
      <div className="charts">
        <Chart title="Invocations" times={times} series={[{ label: 'invocations', values: count((p) => p.invocations) }]} />
        <Chart
          title="Errors and throttles"
          times={times}
          series={[
            { label: 'errors', values: count((p) => p.errors) },
            { label: 'throttles', values: count((p) => p.throttles) },
          ]}
        />
        <Chart
          title="Duration"
          unit="ms"
          times={times}
          series={[
            { label: 'p50', values: measured((p) => p.durationP50) },
            { label: 'p99', values: measured((p) => p.durationP99) },
          ]}
        />
        <Chart
          title="Concurrency (max)"
          times={times}
          series={[{ label: 'concurrent executions', values: measured((p) => p.concurrentExecutionsMax) }]}
        />
        <Chart title="Cold starts" times={times} series={[{ label: 'cold starts', values: count((p) => p.coldStarts) }]} />
      </div>
    </section>
  );
}

const CLUSTER_CHARTS: Array<{ title: string; unit?: string; names: string[] }> = [
  { title: 'Steps', names: ['StepsRunning', 'StepsPending'] },
  { title: 'Nodes', names: ['CoreNodesRunning', 'CoreNodesRequested', 'TaskNodesRunning'] },
  { title: 'CPU (mean over nodes)', unit: '% of a core', names: ['NodeCpuPercent'] },
  { title: 'Spark cores', names: ['CoresUsed', 'CoresTotal'] },
];
const CLUSTER_NAMES = CLUSTER_CHARTS.flatMap((c) => c.names);

export function ClusterCharts({ clusterId }: { clusterId: string }) {
  const [window, setWindow] = useState<Window>('15 minutes');
  const [range, moveOn] = useRange(window);
  const [{ data, error }, refresh] = useQuery({
    query: ConsoleClusterMetrics,
    variables: {
      clusterId,
      names: CLUSTER_NAMES,
      from: range.since.toISOString(),
      to: range.until.toISOString(),
      periodSeconds: range.period,
    },
    requestPolicy: 'cache-and-network',
  });
  useEvery(REFRESH_MS, () => {
    moveOn();
    refresh({ requestPolicy: 'network-only' });
  });
  const series = new Map((data?.clusterMetrics ?? []).map((s) => [s.name, s.datapoints]));
  return (
    <section aria-label="cluster metrics">
      <h2>
        Metrics <WindowPicker value={window} onChange={setWindow} />
      </h2>
      <Problems error={error} />
      <div className="charts">
        {CLUSTER_CHARTS.map((c) => (
          <Chart
            key={c.title}
            title={c.title}
            unit={c.unit}
            times={range.times}
            series={c.names.map((n) => ({
              label: n,
              values: alignTo(
                range.times,
                series.get(n) ?? [],
                (p) => p.at,
                (p) => p.value,
                null,
              ),
            }))}
          />
        ))}
      </div>
    </section>
  );
}
