// The API keys page: every key (its actions, revoked or not), a form that creates one (the secret,
// and the S3 secret when asked for, shown once, here only), and revoke.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { Problems, when } from '../parts/common';
import { linesOf } from '../parts/forms';

const ConsoleApiKeys = graphql(`
  query ConsoleApiKeys {
    apiKeys {
      id
      name
      actions
      s3AccessKeyId
      createdAt
      revokedAt
    }
  }
`);

const ConsoleCreateApiKey = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      key
      s3AccessKeyId
      s3SecretAccessKey
      apiKey {
        id
        name
      }
    }
  }
`);

const ConsoleRevokeApiKey = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(input: { id: $id }) {
      apiKey {
        id
        revokedAt
      }
    }
  }
`);

export function KeysPage() {
  const [{ data, error }, refresh] = useQuery({ query: ConsoleApiKeys, requestPolicy: 'cache-and-network' });
  const [revoked, revoke] = useMutation(ConsoleRevokeApiKey);
  const reread = () => refresh({ requestPolicy: 'network-only' });
  return (
    <section>
      <h1>API keys</h1>
      <CreateKey onCreated={reread} />
      <Problems error={error ?? revoked.error} />
      <table className="list" aria-label="api keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Id</th>
            <th>Actions</th>
            <th>S3 access key id</th>
            <th>Created</th>
            <th>Revoked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.apiKeys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td className="mono">{k.id}</td>
              <td className="mono">{k.actions.join(' ')}</td>
              <td className="mono">{k.s3AccessKeyId ?? '–'}</td>
              <td>{when(k.createdAt)}</td>
              <td>{when(k.revokedAt)}</td>
              <td>
                {k.revokedAt ? null : (
                  <button type="button" disabled={revoked.fetching} onClick={() => void revoke({ id: k.id }).then(reread)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [actions, setActions] = useState('');
  const [s3, setS3] = useState(false);
  const [result, create] = useMutation(ConsoleCreateApiKey);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const wanted = linesOf(actions.replace(/[\s,]+/g, '\n'));
    const { data } = await create({ input: { name, actions: wanted.length ? wanted : undefined, s3Credentials: s3 } });
    if (data) onCreated();
  };
  const made = result.data?.createApiKey;
  return (
    <form className="card" onSubmit={submit} aria-label="create a key">
      <h2>Create a key</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="wide">
        Actions{' '}
        <input
          value={actions}
          onChange={(e) => setActions(e.target.value)}
          placeholder='* (every action), or e.g. "clusters:Describe* functions:Invoke"'
        />
      </label>
      <label>
        <input type="checkbox" checked={s3} onChange={(e) => setS3(e.target.checked)} /> S3 credentials
      </label>
      <button type="submit" disabled={result.fetching}>
        Create key
      </button>
      <Problems error={result.error} />
      {made ? (
        <div className="secret" role="status" aria-label="new key">
          <p>
            Key <strong>{made.apiKey.name}</strong> created. Copy its secret now: it is shown only this once.
          </p>
          <output className="mono" aria-label="secret key">
            {made.key}
          </output>
          {made.s3SecretAccessKey ? (
            <p>
              S3 access key id <code>{made.s3AccessKeyId}</code>, secret{' '}
              <output className="mono" aria-label="s3 secret">
                {made.s3SecretAccessKey}
              </output>
            </p>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
