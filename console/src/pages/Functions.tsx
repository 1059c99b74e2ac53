// The functions pages: the list with a deploy form (a zip, or one file typed in), and a function's
// page: its configuration, versions and aliases, and a test invoke with event templates showing the
// response, the log and the REPORT line.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { Runtime } from '../../../src/client/gql/graphql.js';
import { EVENT_TEMPLATES } from '../parts/event-templates';
import { Problems, StateBadge, when } from '../parts/common';

const ConsoleFunctions = graphql(`
  query ConsoleFunctions {
    functions(first: 100) {
      edges {
        node {
          name
          runtime
          handler
          memoryMb
          state
          lastModifiedAt
        }
      }
    }
  }
`);

const ConsoleCreateFunction = graphql(`
  mutation ConsoleCreateFunction($input: CreateFunctionInput!) {
    createFunction(input: $input) {
      function {
        name
        state
      }
    }
  }
`);

const ConsoleFunction = graphql(`
  query ConsoleFunction($name: String!) {
    function(name: $name) {
      name
      arn
      runtime
      handler
      memoryMb
      timeoutSeconds
      codeSize
      codeSha256
      state
      stateReason
      lastUpdateStatus
      lastModifiedAt
      instances {
        busy
        total
      }
      versions {
        version
        description
        createdAt
      }
      aliases {
        name
        functionVersion
        routing {
          additionalVersionWeights {
            version
            weight
          }
        }
      }
    }
  }
`);

const ConsoleInvoke = graphql(`
  mutation ConsoleInvoke($input: InvokeFunctionInput!) {
    invokeFunction(input: $input) {
      statusCode
      functionError
      payload
      executedVersion
      invocation {
        id
        durationMs
        billedDurationMs
        coldStart
        logs {
          at
          stream
          text
        }
      }
    }
  }
`);

const RUNTIMES: Runtime[] = ['PYTHON311', 'NODEJS20', 'PROVIDED'];
const SAMPLE: Record<Runtime, { file: string; handler: string; code: string }> = {
  PYTHON311: {
    file: 'app.py',
    handler: 'app.handler',
    code: 'def handler(event, context):\n    print("got", event)\n    return {"ok": True}\n',
  },
  NODEJS20: {
    file: 'index.mjs',
    handler: 'index.handler',
    code: 'export const handler = async (event) => {\n  console.log("got", event);\n  return { ok: true };\n};\n',
  },
  PROVIDED: { file: 'bootstrap', handler: 'handler', code: '#!/bin/sh\n# a custom runtime: speak the Runtime API here\n' },
};

export function FunctionsPage({ go }: { go: (path: string) => void }) {
  const [{ data, error }] = useQuery({ query: ConsoleFunctions, requestPolicy: 'cache-and-network' });
  return (
    <section>
      <h1>Functions</h1>
      <Deploy onDeployed={(name) => go(`/functions/${encodeURIComponent(name)}`)} />
      <Problems error={error} />
      <table className="list" aria-label="functions">
        <thead>
          <tr>
            <th>Name</th>
            <th>Runtime</th>
            <th>Handler</th>
            <th>Memory</th>
            <th>State</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          {data?.functions.edges.map(({ node: f }) => (
            <tr key={f.name}>
              <td>
                <a href={`#/functions/${encodeURIComponent(f.name)}`}>{f.name}</a>
              </td>
              <td>{f.runtime}</td>
              <td className="mono">{f.handler}</td>
              <td>{f.memoryMb} MB</td>
              <td>
                <StateBadge state={f.state} />
              </td>
              <td>{when(f.lastModifiedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Deploy({ onDeployed }: { onDeployed: (name: string) => void }) {
  const [name, setName] = useState('');
  const [runtime, setRuntime] = useState<Runtime>('PYTHON311');
  const [handler, setHandler] = useState(SAMPLE.PYTHON311.handler);
  const [file, setFile] = useState(SAMPLE.PYTHON311.file);
  const [code, setCode] = useState(SAMPLE.PYTHON311.code);
  const [zip, setZip] = useState<File | null>(null);
  const [result, create] = useMutation(ConsoleCreateFunction);
  const pick = (r: Runtime) => {
    setRuntime(r);
    setHandler(SAMPLE[r].handler);
    setFile(SAMPLE[r].file);
    setCode(SAMPLE[r].code);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const packaged = zip
      ? { zipBase64: await base64Of(zip) }
      : { files: [{ path: file, content: code, executable: runtime === 'PROVIDED' }] };
    const { data } = await create({ input: { name, runtime, handler, code: packaged } });
    if (data) onDeployed(data.createFunction.function.name);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="deploy a function">
      <h2>Deploy a function</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} name="functionName" />
      </label>
      <label>
        Runtime{' '}
        <select value={runtime} onChange={(e) => pick(e.target.value as Runtime)}>
          {RUNTIMES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
      <label>
        Handler <input value={handler} onChange={(e) => setHandler(e.target.value)} name="handler" />
      </label>
      <label>
        Package (.zip) <input type="file" accept=".zip,application/zip" onChange={(e) => setZip(e.target.files?.[0] ?? null)} />
      </label>
      {!zip ? (
        <>
          <label>
            File <input value={file} onChange={(e) => setFile(e.target.value)} name="fileName" />
          </label>
          <textarea className="code" value={code} onChange={(e) => setCode(e.target.value)} aria-label="code" rows={6} spellCheck={false} />
        </>
      ) : null}
      <button type="submit" disabled={result.fetching}>
        Deploy
      </button>
      <Problems error={result.error} />
    </form>
  );
}

function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

export function FunctionPage({ name }: { name: string }) {
  const [{ data, error }, refresh] = useQuery({ query: ConsoleFunction, variables: { name }, requestPolicy: 'cache-and-network' });
  const fn = data?.function;
  if (error) return <Problems error={error} />;
  if (!fn) return <p>{data ? `No function ${name}.` : 'Loading…'}</p>;
  return (
    <section>
      <p>
        <a href="#/functions">← Functions</a>
      </p>
      <h1>
        {fn.name} <StateBadge state={fn.state} />{' '}
        <button type="button" onClick={() => refresh({ requestPolicy: 'network-only' })}>
          Refresh
        </button>
      </h1>
      <p className="mono">{fn.arn}</p>
      {fn.stateReason ? <p className="reason">{fn.stateReason}</p> : null}
      <p>
        {fn.runtime} · <span className="mono">{fn.handler}</span> · {fn.memoryMb} MB · timeout {fn.timeoutSeconds} s · code {fn.codeSize}{' '}
        bytes · instances {fn.instances.busy} busy / {fn.instances.total} · modified {when(fn.lastModifiedAt)}
      </p>
      <Invoke
        name={fn.name}
        qualifiers={['$LATEST', ...fn.versions.map((v) => v.version).filter((v) => v !== '$LATEST'), ...fn.aliases.map((a) => a.name)]}
      />
      <h2>Versions</h2>
      <ul>
        {fn.versions.map((v) => (
          <li key={v.version}>
            {v.version} {v.description ? `— ${v.description}` : ''} ({when(v.createdAt)})
          </li>
        ))}
      </ul>
      <h2>Aliases</h2>
      <ul>
        {fn.aliases.map((a) => (
          <li key={a.name}>
            {a.name} → {a.functionVersion}
            {a.routing?.additionalVersionWeights?.map((w) => ` (+ ${Math.round(w.weight * 100)}% to ${w.version})`)}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Invoke({ name, qualifiers }: { name: string; qualifiers: string[] }) {
  const [template, setTemplate] = useState('Empty object');
  const [event, setEvent] = useState('{}');
  const [qualifier, setQualifier] = useState('$LATEST');
  const [bad, setBad] = useState<string | null>(null);
  const [result, invoke] = useMutation(ConsoleInvoke);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let payload: unknown;
    try {
      payload = JSON.parse(event);
    } catch (err) {
      setBad(`The event is not JSON: ${(err as Error).message}`);
      return;
    }
    setBad(null);
    void invoke({ input: { functionName: name, qualifier, payload } });
  };
  const answer = result.data?.invokeFunction;
  const report = answer?.invocation.logs.find((l) => l.text.startsWith('REPORT '));
  return (
    <form className="card" onSubmit={submit} aria-label="test invoke">
      <h2>Test</h2>
      <label>
        Event template{' '}
        <select
          value={template}
          onChange={(e) => {
            setTemplate(e.target.value);
            setEvent(JSON.stringify(EVENT_TEMPLATES[e.target.value]!(), null, 2));
          }}
        >
          {Object.keys(EVENT_TEMPLATES).map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Qualifier{' '}
        <select value={qualifier} onChange={(e) => setQualifier(e.target.value)}>
          {qualifiers.map((q) => (
            <option key={q}>{q}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={result.fetching}>
        Invoke
      </button>
      <textarea className="code" value={event} onChange={(e) => setEvent(e.target.value)} aria-label="event" rows={8} spellCheck={false} />
      {bad ? (
        <div className="problems" role="alert">
          {bad}
        </div>
      ) : null}
      <Problems error={result.error} />
      {answer ? (
        <section className="invoke-result" aria-label="invoke result">
          <p>
            {answer.functionError ? (
              <span className="badge bad">{answer.functionError} error</span>
            ) : (
              <span className="badge ok">Succeeded</span>
            )}{' '}
            status {answer.statusCode} · version {answer.executedVersion} · {answer.invocation.coldStart ? 'cold start' : 'warm'}
          </p>
          <section aria-label="response">
            <pre className="response">{JSON.stringify(answer.payload, null, 2)}</pre>
          </section>
          {report ? <p className="mono report">{report.text}</p> : null}
          <section aria-label="invocation log">
            <pre className="invocation-log">{answer.invocation.logs.map((l) => l.text).join('\n')}</pre>
          </section>
        </section>
      ) : null}
    </form>
  );
}
