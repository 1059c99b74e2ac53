// The web console: served by the server at / and talking only to the public API. Pages are chosen
// by the URL's hash (#/clusters, #/clusters/<id>, #/steps/<id>, #/functions[/<name>],
// #/buckets[/<name>?prefix=…], #/queues[/<name>], #/topics[/<name>], #/triggers[?function=…],
// #/sql, #/keys), so a reload or a shared link
// opens the same page (after signing in: the key is never part of a URL).
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider, useQuery } from 'urql';
import { graphql } from '../../src/client/gql/index.js';
import { apiClient, forgetKey, saveKey, savedKey } from './api';
import { BucketPage, BucketsPage } from './pages/Buckets';
import { ClusterPage } from './pages/Cluster';
import { ClustersPage } from './pages/Clusters';
import { FunctionPage, FunctionsPage } from './pages/Functions';
import { KeysPage } from './pages/Keys';
import { QueuePage, QueuesPage } from './pages/Queues';
import { SqlPage } from './pages/Sql';
import { StepPage } from './pages/Step';
import { TopicPage, TopicsPage } from './pages/Topics';
import { TriggersPage } from './pages/Triggers';
import { Problems } from './parts/common';
import './styles.css';

const ConsoleWhoAmI = graphql(`
  query ConsoleWhoAmI {
    instanceTypes {
      name
    }
  }
`);

function useHashPath(): [string, (path: string) => void] {
  const read = () => location.hash.replace(/^#/, '') || '/clusters';
  const [path, setPath] = useState(read);
  useEffect(() => {
    const changed = () => setPath(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return [path, (next) => void (location.hash = next)];
}

function Pages() {
  const [where, go] = useHashPath();
  const [path = '', query = ''] = where.split('?');
  const [, page, id] = path.split('/').map(decodeURIComponent);
  if (page === 'clusters' && id) return <ClusterPage key={id} id={id} go={go} />;
  if (page === 'steps' && id) return <StepPage key={id} id={id} />;
  if (page === 'functions') return id ? <FunctionPage key={id} name={id} /> : <FunctionsPage go={go} />;
  const params = new URLSearchParams(query);
  if (page === 'queues') return id ? <QueuePage key={id} name={id} /> : <QueuesPage go={go} />;
  if (page === 'topics') return id ? <TopicPage key={id} name={id} /> : <TopicsPage go={go} />;
  if (page === 'triggers') return <TriggersPage functionName={params.get('function') ?? ''} go={go} />;
  if (page === 'sql') return <SqlPage />;
  if (page === 'keys') return <KeysPage />;
  if (page === 'buckets') {
    const prefix = params.get('prefix') ?? '';
    return id ? <BucketPage key={`${id}?${prefix}`} bucket={id} prefix={prefix} go={go} /> : <BucketsPage go={go} />;
  }
  return <ClustersPage go={go} />;
}

/** Signed in: the key answered a query. A key the API refuses sends the user back here with the reason. */
function SignedIn({ signOut }: { signOut: (why?: string) => void }) {
  const [{ error, data }] = useQuery({ query: ConsoleWhoAmI });
  const refused = error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
  useEffect(() => {
    if (refused) signOut('The API refused this key (UNAUTHENTICATED): it is wrong or was revoked.');
  }, [refused, signOut]);
  if (!data && !error) return <p>Signing in…</p>;
  return (
    <>
      <header>
        <a href="#/clusters" className="brand">
          emberplane
        </a>
        <nav>
          <a href="#/clusters">Clusters</a>
          <a href="#/functions">Functions</a>
          <a href="#/buckets">Buckets</a>
          <a href="#/queues">Queues</a>
          <a href="#/topics">Topics</a>
          <a href="#/triggers">Triggers</a>
          <a href="#/sql">SQL</a>
          <a href="#/keys">API keys</a>
        </nav>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        {error && !refused ? <Problems error={error} /> : null}
        <Pages />
      </main>
    </>
  );
}

function SignIn({ onKey, why }: { onKey: (key: string) => void; why: string | null }) {
  const [key, setKey] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <main className="signin">
      <h1>emberplane</h1>
      <form onSubmit={submit} aria-label="sign in">
        <label>
          API key <input type="password" value={key} onChange={(e) => setKey(e.target.value)} name="apiKey" autoComplete="off" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {why ? (
        <p className="problems" role="alert">
          {why}
        </p>
      ) : null}
      <p className="note">The key is kept in this tab only (session storage) and sent to this server alone.</p>
    </main>
  );
}

function App() {
  const [key, setKey] = useState(savedKey);
  const [why, setWhy] = useState<string | null>(null);
  const client = useMemo(() => (key ? apiClient(key) : null), [key]);
  const signOut = useMemo(
    () => (reason?: string) => {
      forgetKey();
      setWhy(reason ?? null);
      setKey(null);
    },
    [],
  );
  if (!client) {
    return (
      <SignIn
        why={why}
        onKey={(k) => {
          saveKey(k);
          setKey(k);
        }}
      />
    );
  }
  return (
    <Provider value={client}>
      <SignedIn signOut={signOut} />
    </Provider>
  );
}

createRoot(document.getElementById('console')!).render(<App />);
