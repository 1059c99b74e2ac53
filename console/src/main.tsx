// The web console: served by the server at / and talking only to the public API. Pages are chosen
// by the URL's hash (#/clusters, #/clusters/<id>, #/steps/<id>), so a reload or a shared link
// opens the same page (after signing in: the key is never part of a URL).
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider, useQuery } from 'urql';
import { graphql } from '../../src/client/gql/index.js';
import { apiClient, forgetKey, saveKey, savedKey } from './api';
import { ClusterPage } from './pages/Cluster';
import { ClustersPage } from './pages/Clusters';
import { StepPage } from './pages/Step';
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
  const [path, go] = useHashPath();
  const cluster = /^\/clusters\/([^/]+)$/.exec(path);
  const step = /^\/steps\/([^/]+)$/.exec(path);
  if (cluster) return <ClusterPage key={cluster[1]} id={decodeURIComponent(cluster[1]!)} go={go} />;
  if (step) return <StepPage key={step[1]} id={decodeURIComponent(step[1]!)} />;
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
