// A cluster's page: its groups and nodes (state, host), resize, terminate (protection shown), its
// steps with live progress bars and the form that adds one, its metric charts and the event
// timeline, all live: the page listens to the cluster's events and reads the cluster again at each.
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { AddStep } from '../parts/AddStep';
import { ProgressBar, Problems, StateBadge, when } from '../parts/common';
import { ClusterCharts } from '../parts/MetricCharts';

const ConsoleCluster = graphql(`
  query ConsoleCluster($id: ID!) {
    cluster(id: $id) {
      id
      name
      state
      stateChangeReason {
        code
        message
      }
      applications
      terminationProtected
      createdAt
      readyAt
      endedAt
      instanceGroups {
        id
        role
        instanceType
        requestedCount
        state
      }
      instances {
        id
        role
        state
        instanceType
        groupId
        placedOn {
          name
        }
      }
      steps(first: 50) {
        edges {
          node {
            id
            name
            kind
            state
            progress
            createdAt
          }
        }
      }
    }
  }
`);

const ConsoleClusterEvents = graphql(`
  subscription ConsoleClusterEvents($clusterId: ID!) {
    clusterEvents(clusterId: $clusterId) {
      cursor
      at
      kind
      resourceId
      state
      previousState
      message
    }
  }
`);

const ConsoleResize = graphql(`
  mutation ConsoleResize($input: ModifyInstanceGroupInput!) {
    modifyInstanceGroup(input: $input) {
      instanceGroup {
        id
        requestedCount
        state
      }
    }
  }
`);

const ConsoleTerminate = graphql(`
  mutation ConsoleTerminate($ids: [ID!]!) {
    terminateClusters(input: { ids: $ids }) {
      clusters {
        id
        state
      }
    }
  }
`);

type Event = {
  cursor: string;
  at: string;
  kind: string;
  resourceId: string;
  state?: string | null;
  previousState?: string | null;
  message?: string | null;
};
const TIMELINE_MAX = 200;

export function ClusterPage({ id, go }: { id: string; go: (path: string) => void }) {
  const [{ data, error }, refresh] = useQuery({ query: ConsoleCluster, variables: { id } });
  // every event of the cluster (a node, a step, a group changed): the timeline grows and the page reads the cluster again
  const [{ data: timeline }] = useSubscription({ query: ConsoleClusterEvents, variables: { clusterId: id } }, (events: Event[] = [], e) =>
    [e.clusterEvents, ...events].slice(0, TIMELINE_MAX),
  );
  const latest = timeline?.[0]?.cursor;
  useEffect(() => {
    if (latest) refresh({ requestPolicy: 'network-only' });
  }, [latest, refresh]);
  // progress is not an event: while a step runs, read again every second
  const running = data?.cluster?.steps.edges.some((e) => e.node.state === 'RUNNING');
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => refresh({ requestPolicy: 'network-only' }), 1_000);
    return () => clearInterval(timer);
  }, [running, refresh]);

  const [terminated, terminate] = useMutation(ConsoleTerminate);
  const cluster = data?.cluster;
  if (error) return <Problems error={error} />;
  if (!cluster) return <p>{data ? `No cluster ${id}.` : 'Loading…'}</p>;
  const ended = cluster.state === 'TERMINATED' || cluster.state === 'TERMINATED_WITH_ERRORS';
  return (
    <section>
      <p>
        <a href="#/clusters">← Clusters</a>
      </p>
      <h1>
        {cluster.name} <StateBadge state={cluster.state} />
      </h1>
      <p className="mono">{cluster.id}</p>
      {cluster.stateChangeReason?.message ? (
        <p className="reason">
          {cluster.stateChangeReason.code ? <code>{cluster.stateChangeReason.code}</code> : null} {cluster.stateChangeReason.message}
        </p>
      ) : null}
      <p>
        Created {when(cluster.createdAt)} · ready {when(cluster.readyAt)} · ended {when(cluster.endedAt)}
        {cluster.applications.length ? ` · ${cluster.applications.join(', ')}` : ''}
      </p>
      {!ended ? (
        <p>
          <button
            type="button"
            disabled={cluster.terminationProtected || terminated.fetching || cluster.state === 'TERMINATING'}
            title={cluster.terminationProtected ? 'termination protection is on' : ''}
            onClick={() => void terminate({ ids: [cluster.id] })}
          >
            Terminate
          </button>
          {cluster.terminationProtected ? <span className="note"> protected: turn termination protection off first</span> : null}
          <Problems error={terminated.error} />
        </p>
      ) : null}

      <h2>Instance groups</h2>
      <table className="list" aria-label="instance groups">
        <thead>
          <tr>
            <th>Role</th>
            <th>Type</th>
            <th>Requested</th>
            <th>State</th>
            <th>Resize</th>
          </tr>
        </thead>
        <tbody>
          {cluster.instanceGroups.map((g) => (
            <tr key={g.id}>
              <td>{g.role}</td>
              <td>{g.instanceType}</td>
              <td>{g.requestedCount}</td>
              <td>
                <StateBadge state={g.state} />
              </td>
              <td>{g.role === 'MASTER' || ended ? null : <Resize clusterId={cluster.id} groupId={g.id} count={g.requestedCount} />}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Nodes</h2>
      <table className="list" aria-label="nodes">
        <thead>
          <tr>
            <th>Id</th>
            <th>Role</th>
            <th>Type</th>
            <th>State</th>
            <th>Host</th>
          </tr>
        </thead>
        <tbody>
          {cluster.instances.map((i) => (
            <tr key={i.id}>
              <td className="mono">{i.id}</td>
              <td>{i.role}</td>
              <td>{i.instanceType}</td>
              <td>
                <StateBadge state={i.state} />
              </td>
              <td>{i.placedOn?.name ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Steps</h2>
      {!ended ? <AddStep clusterId={cluster.id} onAdded={(stepId) => go(`/steps/${stepId}`)} /> : null}
      <table className="list" aria-label="steps">
        <thead>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>State</th>
            <th>Progress</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {cluster.steps.edges.map(({ node: s }) => (
            <tr key={s.id} data-step={s.id}>
              <td>
                <a href={`#/steps/${s.id}`}>{s.name}</a>
              </td>
              <td>{s.kind}</td>
              <td>
                <StateBadge state={s.state} />
              </td>
              <td>
                <ProgressBar value={s.state === 'COMPLETED' ? 1 : s.progress} />
              </td>
              <td>{when(s.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <ClusterCharts clusterId={cluster.id} />

      <h2>Events</h2>
      <ol className="timeline" aria-label="events">
        {(timeline ?? []).map((e) => (
          <li key={e.cursor}>
            <time>{when(e.at)}</time> <code>{e.kind}</code> {e.resourceId}
            {e.state ? ` ${e.previousState ? `${e.previousState} → ` : ''}${e.state}` : ''}
            {e.message ? ` — ${e.message}` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Resize({ clusterId, groupId, count }: { clusterId: string; groupId: string; count: number }) {
  const [value, setValue] = useState(String(count));
  const [result, resize] = useMutation(ConsoleResize);
  const seen = useRef(count);
  useEffect(() => {
    if (seen.current !== count) setValue(String(count));
    seen.current = count;
  }, [count]);
  return (
    <form
      className="inline"
      onSubmit={(e) => {
        e.preventDefault();
        const n = Number(value);
        void resize({ input: { clusterId, instanceGroupId: groupId, instanceCount: Number.isInteger(n) ? n : -1 } });
      }}
    >
      <input value={value} onChange={(e) => setValue(e.target.value)} size={4} aria-label="new node count" />
      <button type="submit" disabled={result.fetching}>
        Resize
      </button>
      <Problems error={result.error} />
    </form>
  );
}
