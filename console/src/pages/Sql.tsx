// The SQL preview page: one SELECT over the buckets, run by the API's sqlPreview on a WAITING or
// RUNNING cluster with the DUCKDB application, its rows shown in a table.
import { useState, type FormEvent } from 'react';
import { useClient, useQuery, type CombinedError } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ConsoleSqlPreviewQuery } from '../../../src/client/gql/graphql.js';
import { Problems } from '../parts/common';
import { intOrNone } from '../parts/forms';

const ConsoleSqlClusters = graphql(`
  query ConsoleSqlClusters {
    clusters(first: 100, filter: { states: [WAITING, RUNNING] }) {
      edges {
        node {
          id
          name
          applications
        }
      }
    }
  }
`);

const ConsoleSqlPreview = graphql(`
  query ConsoleSqlPreview($clusterId: ID!, $query: String!, $limit: Int) {
    sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) {
      columns {
        name
        type
      }
      rows
      truncated
    }
  }
`);

const cellText = (v: unknown) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function SqlPage() {
  const [{ data: clusters }] = useQuery({ query: ConsoleSqlClusters, requestPolicy: 'cache-and-network' });
  const usable = clusters?.clusters.edges.map((e) => e.node).filter((c) => c.applications.includes('DUCKDB')) ?? [];
  const [clusterId, setClusterId] = useState('');
  const [text, setText] = useState("SELECT 42 AS answer, 'hello' AS greeting");
  const [limit, setLimit] = useState('100');
  const client = useClient();
  const [answer, setAnswer] = useState<{ data?: ConsoleSqlPreviewQuery; error?: CombinedError } | null>(null);
  const [fetching, setFetching] = useState(false);
  // run on demand, each time Run is pressed (never from the cache)
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFetching(true);
    const variables = { clusterId: clusterId || usable[0]?.id || '', query: text, limit: intOrNone(limit) };
    const { data, error } = await client.query(ConsoleSqlPreview, variables, { requestPolicy: 'network-only' }).toPromise();
    setAnswer({ data, error });
    setFetching(false);
  };
  const preview = answer?.data?.sqlPreview;
  const rows = (preview?.rows as unknown[][] | undefined) ?? [];
  return (
    <section>
      <h1>SQL preview</h1>
      <form className="card" onSubmit={submit} aria-label="sql preview">
        <label>
          Cluster{' '}
          <select value={clusterId} onChange={(e) => setClusterId(e.target.value)}>
            {!clusterId ? (
              <option value="">{usable[0] ? `${usable[0].name} (${usable[0].id})` : '(no WAITING cluster with DUCKDB)'}</option>
            ) : null}
            {usable.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Rows at most <input value={limit} onChange={(e) => setLimit(e.target.value)} size={5} />
        </label>
        <textarea className="code" value={text} onChange={(e) => setText(e.target.value)} aria-label="query" rows={6} spellCheck={false} />
        <button type="submit" disabled={fetching}>
          Run
        </button>
        <span className="note">Read files with s3:// URIs, e.g. SELECT * FROM read_csv('s3://bucket/data.csv')</span>
        <Problems error={answer?.error} />
      </form>
      {preview ? (
        <>
          <table className="list" aria-label="result">
            <thead>
              <tr>
                {preview.columns.map((c) => (
                  <th key={c.name} title={c.type}>
                    {c.name} <span className="note">{c.type}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr key={i}>
                  {row.map((v, j) => (
                    <td key={j} className="mono">
                      {cellText(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="note">
            {rows.length} row{rows.length === 1 ? '' : 's'}
            {preview.truncated ? ' (more not shown: raise the limit or run it as a SQL step)' : ''}
          </p>
        </>
      ) : null}
    </section>
  );
}
