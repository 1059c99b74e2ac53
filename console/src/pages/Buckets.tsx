// The buckets pages: the list with a create form, and a bucket browsed by prefix ("folders" are
// common prefixes of "/"), with uploads that show their progress and downloads, through the same
// /objects route any client uses with the signed-in key.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { savedKey } from '../api';
import { ProgressBar, Problems, when } from '../parts/common';

const ConsoleBuckets = graphql(`
  query ConsoleBuckets {
    buckets {
      name
      uri
      createdAt
    }
  }
`);

const ConsoleCreateBucket = graphql(`
  mutation ConsoleCreateBucket($name: String!) {
    createBucket(input: { name: $name }) {
      bucket {
        name
      }
    }
  }
`);

const ConsoleObjects = graphql(`
  query ConsoleObjects($bucket: String!, $prefix: String, $after: String) {
    objects(bucket: $bucket, prefix: $prefix, delimiter: "/", first: 100, after: $after) {
      commonPrefixes
      edges {
        node {
          key
          size
          lastModified
          contentType
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const objectUrl = (bucket: string, key: string) =>
  `/objects/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;

export function BucketsPage({ go }: { go: (path: string) => void }) {
  const [{ data, error }] = useQuery({ query: ConsoleBuckets, requestPolicy: 'cache-and-network' });
  const [name, setName] = useState('');
  const [created, create] = useMutation(ConsoleCreateBucket);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data: made } = await create({ name });
    if (made) go(`/buckets/${encodeURIComponent(made.createBucket.bucket.name)}`);
  };
  return (
    <section>
      <h1>Buckets</h1>
      <form className="card" onSubmit={submit} aria-label="create a bucket">
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} name="bucketName" />
        </label>
        <button type="submit" disabled={created.fetching}>
          Create bucket
        </button>
        <Problems error={created.error} />
      </form>
      <Problems error={error} />
      <table className="list" aria-label="buckets">
        <thead>
          <tr>
            <th>Name</th>
            <th>URI</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.buckets.map((b) => (
            <tr key={b.name}>
              <td>
                <a href={`#/buckets/${encodeURIComponent(b.name)}`}>{b.name}</a>
              </td>
              <td className="mono">{b.uri}</td>
              <td>{when(b.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function BucketPage({ bucket, prefix, go }: { bucket: string; prefix: string; go: (path: string) => void }) {
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, error }, refresh] = useQuery({ query: ConsoleObjects, variables: { bucket, prefix: prefix || null, after } });
  const page = data?.objects;
  const open = (p: string) => go(`/buckets/${encodeURIComponent(bucket)}${p ? `?prefix=${encodeURIComponent(p)}` : ''}`);
  const crumbs = prefix.split('/').filter(Boolean);
  return (
    <section>
      <p>
        <a href="#/buckets">← Buckets</a>
      </p>
      <h1>
        <button type="button" className="link" onClick={() => open('')}>
          {bucket}
        </button>
        {crumbs.map((c, i) => (
          <span key={i}>
            {' / '}
            <button type="button" className="link" onClick={() => open(`${crumbs.slice(0, i + 1).join('/')}/`)}>
              {c}
            </button>
          </span>
        ))}
      </h1>
      <Upload bucket={bucket} prefix={prefix} onDone={() => refresh({ requestPolicy: 'network-only' })} />
      <Problems error={error} />
      <table className="list" aria-label="objects">
        <thead>
          <tr>
            <th>Key</th>
            <th>Size</th>
            <th>Type</th>
            <th>Modified</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {page?.commonPrefixes.map((p) => (
            <tr key={p}>
              <td>
                <button type="button" className="link" onClick={() => open(p)}>
                  {p.slice(prefix.length)}
                </button>
              </td>
              <td colSpan={4}>folder</td>
            </tr>
          ))}
          {page?.edges.map(({ node: o }) => (
            <tr key={o.key}>
              <td className="mono">{o.key.slice(prefix.length)}</td>
              <td>{o.size.toLocaleString()} B</td>
              <td>{o.contentType}</td>
              <td>{when(o.lastModified)}</td>
              <td>
                <Download bucket={bucket} objectKey={o.key} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page?.pageInfo.hasNextPage ? (
        <button type="button" onClick={() => setAfter(page.pageInfo.endCursor ?? null)}>
          Next page
        </button>
      ) : null}
    </section>
  );
}

/** PUT /objects with the upload's progress (XMLHttpRequest reports it; fetch does not). */
function Upload({ bucket, prefix, onDone }: { bucket: string; prefix: string; onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', objectUrl(bucket, `${prefix}${file.name}`));
    xhr.setRequestHeader('authorization', `Bearer ${savedKey()}`);
    if (file.type) xhr.setRequestHeader('content-type', file.type);
    xhr.upload.onprogress = (p) => setProgress(p.lengthComputable ? p.loaded / p.total : null);
    xhr.onload = () => {
      if (xhr.status === 200) {
        setProgress(1);
        setProblem(null);
        onDone();
        return;
      }
      try {
        const body = JSON.parse(xhr.responseText) as { code: string; field?: string; message: string };
        setProblem(`${body.code}${body.field ? ` on ${body.field}` : ''}: ${body.message}`);
      } catch {
        setProblem(`HTTP ${xhr.status}`);
      }
    };
    xhr.onerror = () => setProblem('the upload was cut off');
    setProgress(0);
    xhr.send(file);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="upload">
      <label>
        Upload to {prefix || '/'} <input type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} aria-label="file to upload" />
      </label>
      <button type="submit" disabled={!file}>
        Upload
      </button>
      {progress !== null ? <ProgressBar value={progress} /> : null}
      {problem ? (
        <div className="problems" role="alert">
          {problem}
        </div>
      ) : null}
    </form>
  );
}

/** GET /objects with the key (a link could not carry it), saved through a blob URL. */
function Download({ bucket, objectKey }: { bucket: string; objectKey: string }) {
  const [problem, setProblem] = useState<string | null>(null);
  const download = async () => {
    const res = await fetch(objectUrl(bucket, objectKey), { headers: { authorization: `Bearer ${savedKey()}` } });
    if (!res.ok) {
      setProblem(`HTTP ${res.status}`);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = objectKey.split('/').pop() ?? 'object';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  return (
    <>
      <button type="button" onClick={() => void download()}>
        Download
      </button>
      {problem ? <span className="problems">{problem}</span> : null}
    </>
  );
}
