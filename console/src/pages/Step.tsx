// A step's page: its state and progress bar (live, from stepUpdates), cancel, and its log: opened at
// the tail, following live lines, scrolling back through older ones page by page, virtualized (only
// the rows in view are in the DOM, so 100k lines scroll smoothly), searchable, SYSTEM lines apart.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { ProgressBar, Problems, StateBadge } from '../parts/common';

const ConsoleStep = graphql(`
  query ConsoleStep($id: ID!) {
    step(id: $id) {
      id
      name
      kind
      state
      progress
      clusterId
      logStreamId
      exitCode
      failureDetails {
        message
      }
    }
  }
`);

const ConsoleStepUpdates = graphql(`
  subscription ConsoleStepUpdates($stepId: ID!) {
    stepUpdates(stepId: $stepId) {
      id
      state
      progress
      exitCode
      failureDetails {
        message
      }
    }
  }
`);

const ConsoleLogTail = graphql(`
  subscription ConsoleLogTail($streamId: ID!, $tail: Int) {
    logBatches(streamId: $streamId, tail: $tail) {
      lines {
        cursor
        at
        stream
        text
      }
    }
  }
`);

const ConsoleOlderLines = graphql(`
  query ConsoleOlderLines($id: ID!, $before: String) {
    step(id: $id) {
      logs(last: 100, before: $before) {
        edges {
          node {
            cursor
            at
            stream
            text
          }
        }
        pageInfo {
          hasPreviousPage
        }
      }
    }
  }
`);

const ConsoleCancel = graphql(`
  mutation ConsoleCancel($input: CancelStepsInput!) {
    cancelSteps(input: $input) {
      results {
        stepId
        status
        reason
      }
    }
  }
`);

interface Line {
  cursor: string;
  at: string;
  stream: string;
  text: string;
}

const TAIL = 1_000;
const ROW_PX = 18;
const ENDED = ['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED'];

export function StepPage({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: ConsoleStep, variables: { id } });
  const [{ data: live }] = useSubscription({ query: ConsoleStepUpdates, variables: { stepId: id } });
  const [cancelled, cancel] = useMutation(ConsoleCancel);
  const step = data?.step;
  if (error) return <Problems error={error} />;
  if (!step) return <p>{data ? `No step ${id}.` : 'Loading…'}</p>;
  const now = live?.stepUpdates ?? step;
  return (
    <section>
      <p>
        <a href={`#/clusters/${step.clusterId}`}>← Cluster {step.clusterId}</a>
      </p>
      <h1>
        {step.name} <StateBadge state={now.state} />
      </h1>
      <p>
        <span className="mono">{step.id}</span> · {step.kind} · <ProgressBar value={now.state === 'COMPLETED' ? 1 : now.progress} />
        {now.exitCode !== null && now.exitCode !== undefined ? ` · exit code ${now.exitCode}` : ''}
        {now.failureDetails?.message ? ` · ${now.failureDetails.message}` : ''}
      </p>
      {!ENDED.includes(now.state) ? (
        <p>
          <button
            type="button"
            disabled={cancelled.fetching}
            onClick={() => void cancel({ input: { clusterId: step.clusterId, stepIds: [step.id] } })}
          >
            Cancel step
          </button>
          <Problems error={cancelled.error} />
        </p>
      ) : null}
      <LogView stepId={step.id} streamId={step.logStreamId} />
    </section>
  );
}

function LogView({ stepId, streamId }: { stepId: string; streamId: string }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [search, setSearch] = useState('');
  const [olderLeft, setOlderLeft] = useState(true);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const client = useClient();
  // live lines arrive in bursts: they are added once per frame, not once per line
  const pending = useRef<Line[]>([]);
  const frame = useRef(0);
  const flush = useCallback(() => {
    frame.current = 0;
    const batch = pending.current;
    pending.current = [];
    setLines((old) => old.concat(batch));
  }, []);
  // subscribed outside React's state: a line only joins the batch, and the page renders once a frame
  // (useSubscription would render the view once per line)
  useEffect(() => {
    const { unsubscribe } = client.subscription(ConsoleLogTail, { streamId, tail: TAIL }).subscribe((result) => {
      if (!result.data) return;
      pending.current.push(...result.data.logBatches.lines);
      if (!frame.current) frame.current = requestAnimationFrame(flush);
    });
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame.current);
    };
  }, [client, streamId, flush]);

  const shown = useMemo(() => {
    if (!search) return lines;
    const needle = search.toLowerCase();
    return lines.filter((l) => l.text.toLowerCase().includes(needle));
  }, [lines, search]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
  });
  // follow the tail while the view is at the bottom; a user who scrolled up stays where they are
  const atBottom = useRef(true);
  const lastTop = useRef(0);
  useEffect(() => {
    if (atBottom.current && shown.length) virtualizer.scrollToIndex(shown.length - 1, { align: 'end' });
  }, [shown.length, virtualizer]);

  const loadOlder = useCallback(async () => {
    if (loadingOlder || !olderLeft || !lines.length) return;
    setLoadingOlder(true);
    const result = await client
      .query(ConsoleOlderLines, { id: stepId, before: lines[0]!.cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    const page = result.data?.step?.logs;
    if (page) {
      const older: Line[] = page.edges.map((e) => e.node);
      setOlderLeft(page.pageInfo.hasPreviousPage);
      setLines((old) => older.concat(old));
      // keep the lines in view where they were
      if (!search && older.length) requestAnimationFrame(() => virtualizer.scrollToIndex(older.length, { align: 'start' }));
    }
    setLoadingOlder(false);
  }, [client, lines, loadingOlder, olderLeft, search, stepId, virtualizer]);

  return (
    <div className="log">
      <div className="log-bar">
        <input placeholder="search the log" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="search the log" />
        <span className="note">
          {search ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}
          {olderLeft && lines.length >= TAIL ? ' · scroll up for older lines' : ''}
        </span>
      </div>
      <div
        ref={scroller}
        className="log-lines"
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          // only a move up leaves the tail: lines added while following make the view taller
          // before it is scrolled down to them, which is no reason to stop following
          const movedUp = el.scrollTop < lastTop.current;
          lastTop.current = el.scrollTop;
          if (el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX * 2) atBottom.current = true;
          else if (movedUp) atBottom.current = false;
          // older lines when the reader goes up to the top, not while a short log fills the view
          if (movedUp && el.scrollTop < ROW_PX * 5) void loadOlder();
        }}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((row) => {
            const l = shown[row.index]!;
            return (
              <div
                key={l.cursor}
                className={`line ${l.stream.toLowerCase()}`}
                style={{ position: 'absolute', top: row.start, height: ROW_PX, left: 0, right: 0 }}
              >
                <time>{l.at.slice(11, 23)}</time> <span className="text">{l.text}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
