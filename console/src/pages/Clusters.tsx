// The clusters page: the clusters a page at a time (PAGE_SIZE, so the first paint does not grow with
// the install's history) with their states (refreshed every two seconds), filters, and the form
// that creates one.
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ApplicationName, ClusterState } from '../../../src/client/gql/graphql.js';
import { Problems, StateBadge, when } from '../parts/common';

const ConsoleClusters = graphql(`
  query ConsoleClusters($filter: ClusterFilter, $after: String, $first: Int) {
    clusters(first: $first, filter: $filter, after: $after) {
      edges {
        node {
          id
          name
          state
          createdAt
          instanceGroups {
            id
            role
            requestedCount
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const ConsoleCreateOptions = graphql(`
  query ConsoleCreateOptions {
    instanceTypes {
      name
      vcpu
      memoryMb
    }
    applications {
      name
      available
      reason
    }
  }
`);

const ConsoleCreateCluster = graphql(`
  mutation ConsoleCreateCluster($input: CreateClusterInput!) {
    createCluster(input: $input) {
      cluster {
        id
        name
        state
      }
    }
  }
`);

const REFRESH_MS = 2_000;
const PAGE_SIZE = 100;
const STATES: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'WAITING', 'RUNNING', 'TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS'];

export function ClustersPage({ go }: { go: (path: string) => void }) {
  const [state, setState] = useState<ClusterState | ''>('');
  const [nameContains, setNameContains] = useState('');
  const filter = { ...(state ? { states: [state] } : {}), ...(nameContains ? { nameContains } : {}) };
  // the cursors of the pages before this one (the first page has none); a new filter starts again
  const [before, setBefore] = useState<string[]>([]);
  const filterKey = JSON.stringify(filter);
  useEffect(() => setBefore([]), [filterKey]);
  const after = before[before.length - 1] ?? null;
  const [{ data, error, fetching }, refresh] = useQuery({ query: ConsoleClusters, variables: { filter, after, first: PAGE_SIZE } });
  useEffect(() => {
    const timer = setInterval(() => refresh({ requestPolicy: 'network-only' }), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  const clusters = data?.clusters.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Clusters</h1>
      <CreateCluster onCreated={(id) => go(`/clusters/${id}`)} />
      <div className="filters">
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState(e.target.value as ClusterState | '')} aria-label="filter by state">
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Name contains <input value={nameContains} onChange={(e) => setNameContains(e.target.value)} aria-label="filter by name" />
        </label>
      </div>
      <Problems error={error} />
      <table className="list" aria-label="clusters">
        <thead>
          <tr>
            <th>Name</th>
            <th>Id</th>
            <th>State</th>
            <th>Nodes</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {clusters.map((c) => (
            <tr key={c.id} data-cluster={c.id}>
              <td>
                <a href={`#/clusters/${c.id}`}>{c.name}</a>
              </td>
              <td className="mono">{c.id}</td>
              <td>
                <StateBadge state={c.state} />
              </td>
              <td>{c.instanceGroups.map((g) => `${g.role}×${g.requestedCount}`).join(' ')}</td>
              <td>{when(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="pager">
        <button type="button" disabled={!before.length} onClick={() => setBefore(before.slice(0, -1))}>
          Previous page
        </button>{' '}
        {clusters.length ? `${before.length * PAGE_SIZE + 1}–${before.length * PAGE_SIZE + clusters.length}` : ''}{' '}
        <button
          type="button"
          disabled={!data?.clusters.pageInfo.hasNextPage}
          onClick={() => data?.clusters.pageInfo.endCursor && setBefore([...before, data.clusters.pageInfo.endCursor])}
        >
          Next page
        </button>
      </p>
      {!fetching && clusters.length === 0 ? (
        <p className="empty">No clusters{state || nameContains ? ' match the filters' : ' yet'}.</p>
      ) : null}
    </section>
  );
}

function CreateCluster({ onCreated }: { onCreated: (id: string) => void }) {
  const [{ data: options }] = useQuery({ query: ConsoleCreateOptions });
  const [result, create] = useMutation(ConsoleCreateCluster);
  const [name, setName] = useState('');
  const [instanceType, setInstanceType] = useState('');
  const [core, setCore] = useState('1');
  const [apps, setApps] = useState<ApplicationName[]>([]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const type = instanceType || options?.instanceTypes[0]?.name || '';
    const count = Number(core);
    const { data } = await create({
      input: {
        name,
        applications: apps,
        instanceGroups: [
          { role: 'MASTER', instanceType: type, count: 1 },
          ...(core === '0' ? [] : [{ role: 'CORE' as const, instanceType: type, count: Number.isInteger(count) ? count : -1 }]),
        ],
      },
    });
    if (data) onCreated(data.createCluster.cluster.id);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="create a cluster">
      <h2>Create a cluster</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} name="name" />
      </label>
      <label>
        Instance type{' '}
        <select value={instanceType} onChange={(e) => setInstanceType(e.target.value)} name="instanceType">
          {options?.instanceTypes.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name} ({t.vcpu} vCPU, {t.memoryMb} MiB)
            </option>
          ))}
        </select>
      </label>
      <label>
        CORE nodes <input value={core} onChange={(e) => setCore(e.target.value)} name="core" inputMode="numeric" size={4} />
      </label>
      {options?.applications.map((a) => (
        <label key={a.name} title={a.reason ?? ''}>
          <input
            type="checkbox"
            disabled={!a.available}
            checked={apps.includes(a.name as ApplicationName)}
            onChange={(e) => setApps(e.target.checked ? [...apps, a.name as ApplicationName] : apps.filter((n) => n !== a.name))}
          />{' '}
          {a.name}
        </label>
      ))}
      <button type="submit" disabled={result.fetching}>
        Create
      </button>
      <Problems error={result.error} />
    </form>
  );
}
