// The functions pages: the list with a deploy form (a zip, or one file typed in), and a function's
// page: its configuration, versions and aliases, and a test invoke with event templates showing the
// response, the log and the REPORT line.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ConsoleFunctionQuery, Runtime } from '../../../src/client/gql/graphql.js';
import { EVENT_TEMPLATES } from '../parts/event-templates';
import { Problems, StateBadge, when } from '../parts/common';
import { FunctionCharts } from '../parts/MetricCharts';

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

const ConsolePublishVersion = graphql(`
  mutation ConsolePublishVersion($input: PublishVersionInput!) {
    publishVersion(input: $input) {
      version {
        version
      }
    }
  }
`);

const ConsoleCreateAlias = graphql(`
  mutation ConsoleCreateAlias($input: CreateAliasInput!) {
    createAlias(input: $input) {
      alias {
        name
      }
    }
  }
`);

const ConsoleUpdateAlias = graphql(`
  mutation ConsoleUpdateAlias($input: UpdateAliasInput!) {
    updateAlias(input: $input) {
      alias {
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
  const reread = () => refresh({ requestPolicy: 'network-only' });
  const fn = data?.function;
  const published = fn?.versions.map((v) => v.version).filter((v) => v !== '$LATEST') ?? [];
  if (error) return <Problems error={error} />;
  if (!fn) return <p>{data ? `No function ${name}.` : 'Loading…'}</p>;
  return (
    <section>
      <p>
        <a href="#/functions">← Functions</a>
      </p>
      <h1>
        {fn.name} <StateBadge state={fn.state} />{' '}
        <button type="button" onClick={reread}>
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
      <p>
        <a href={`#/triggers?function=${encodeURIComponent(fn.name)}`}>Triggers of {fn.name}</a>
      </p>
      <FunctionCharts name={fn.name} />
      <Versions name={fn.name} versions={fn.versions} onChange={reread} />
      <h2>Aliases</h2>
      <table className="list" aria-label="aliases">
        <thead>
          <tr>
            <th>Alias</th>
            <th>Traffic</th>
          </tr>
        </thead>
        <tbody>
          {fn.aliases.map((a) => (
            <tr key={a.name}>
              <td>{a.name}</td>
              <td>
                <AliasSplit
                  key={`${a.functionVersion}:${JSON.stringify(a.routing)}`}
                  functionName={fn.name}
                  alias={a}
                  versions={published}
                  onSaved={reread}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <CreateAlias functionName={fn.name} versions={published} onCreated={reread} />
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

function Versions({
  name,
  versions,
  onChange,
}: {
  name: string;
  versions: Array<{ version: string; description: string; createdAt: string }>;
  onChange: () => void;
}) {
  const [description, setDescription] = useState('');
  const [result, publish] = useMutation(ConsolePublishVersion);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await publish({ input: { functionName: name, description: description || undefined } });
    if (data) onChange();
  };
  return (
    <>
      <h2>Versions</h2>
      <ul>
        {versions.map((v) => (
          <li key={v.version}>
            {v.version} {v.description ? `— ${v.description}` : ''} ({when(v.createdAt)})
          </li>
        ))}
      </ul>
      <form className="inline" onSubmit={submit} aria-label="publish a version">
        <input
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="description"
          aria-label="version description"
        />
        <button type="submit" disabled={result.fetching}>
          Publish version
        </button>
        <Problems error={result.error} />
      </form>
    </>
  );
}

type Alias = NonNullable<ConsoleFunctionQuery['function']>['aliases'][number];

/**
 * An alias's routing between two versions: its version and, optionally, a second one that gets
 * the slider's share of the traffic (Lambda's additionalVersionWeights, one entry at most).
 */
function AliasSplit({
  functionName,
  alias,
  versions,
  onSaved,
}: {
  functionName: string;
  alias: Alias;
  versions: string[];
  onSaved: () => void;
}) {
  const current = alias.routing?.additionalVersionWeights[0];
  const [primary, setPrimary] = useState(alias.functionVersion);
  const [secondary, setSecondary] = useState(current?.version ?? '');
  const [percent, setPercent] = useState(Math.round((current?.weight ?? 0) * 100));
  const [result, update] = useMutation(ConsoleUpdateAlias);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const additionalVersionWeights = secondary ? [{ version: secondary, weight: percent / 100 }] : [];
    const { data } = await update({
      input: { functionName, name: alias.name, functionVersion: primary, routing: { additionalVersionWeights } },
    });
    if (data) onSaved();
  };
  const options = versions.includes(alias.functionVersion) ? versions : [alias.functionVersion, ...versions];
  return (
    <form className="inline split" onSubmit={submit} aria-label={`traffic of ${alias.name}`}>
      <select value={primary} onChange={(e) => setPrimary(e.target.value)} aria-label="version">
        {options.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
      <span className="share">{secondary ? 100 - percent : 100}%</span>
      <input
        type="range"
        min={0}
        max={100}
        step={1}
        value={percent}
        disabled={!secondary}
        onChange={(e) => setPercent(Number(e.target.value))}
        aria-label="share of the second version"
        aria-valuetext={`${percent}% to ${secondary || 'none'}`}
      />
      <span className="share">{secondary ? percent : 0}%</span>
      <select value={secondary} onChange={(e) => setSecondary(e.target.value)} aria-label="second version">
        <option value="">none</option>
        {versions
          .filter((v) => v !== primary)
          .map((v) => (
            <option key={v}>{v}</option>
          ))}
      </select>
      <button type="submit" disabled={result.fetching}>
        Save
      </button>
      <Problems error={result.error} />
    </form>
  );
}

function CreateAlias({ functionName, versions, onCreated }: { functionName: string; versions: string[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [result, create] = useMutation(ConsoleCreateAlias);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await create({
      input: { functionName, name, functionVersion: version || versions[versions.length - 1] || '$LATEST' },
    });
    if (data) onCreated();
  };
  return (
    <form className="card" onSubmit={submit} aria-label="create an alias">
      <h3>Create an alias</h3>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Version{' '}
        <select value={version} onChange={(e) => setVersion(e.target.value)}>
          <option value="">{versions[versions.length - 1] ?? '$LATEST'}</option>
          {['$LATEST', ...versions].map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={result.fetching}>
        Create alias
      </button>
      <Problems error={result.error} />
    </form>
  );
}
