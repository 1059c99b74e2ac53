// The triggers page: every trigger, or one function's (#/triggers?function=<name>), each with its
// source, enabled or not (a switch), and delete; and the form that creates one for any source kind
// the API has (schedule, queue, topic, bucket, HTTP route, cluster events).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ClusterEventsKind, CreateTriggerInput, HttpRouteMethod, TriggerSourceType } from '../../../src/client/gql/graphql.js';
import { Problems, when } from '../parts/common';
import { intOrNone, linesOf, useFields } from '../parts/forms';

const ConsoleTriggers = graphql(`
  query ConsoleTriggers($filter: TriggerFilter) {
    triggers(first: 100, filter: $filter) {
      edges {
        node {
          id
          name
          functionName
          qualifier
          sourceType
          enabled
          config
          createdAt
          schedule {
            nextFireAt
          }
          http {
            url
          }
        }
      }
    }
    functions(first: 100) {
      edges {
        node {
          name
        }
      }
    }
  }
`);

const ConsoleCreateTrigger = graphql(`
  mutation ConsoleCreateTrigger($input: CreateTriggerInput!) {
    createTrigger(input: $input) {
      trigger {
        id
        name
      }
    }
  }
`);

const ConsoleSetTriggerEnabled = graphql(`
  mutation ConsoleSetTriggerEnabled($input: SetTriggerEnabledInput!) {
    setTriggerEnabled(input: $input) {
      trigger {
        id
        enabled
      }
    }
  }
`);

const ConsoleDeleteTrigger = graphql(`
  mutation ConsoleDeleteTrigger($name: String!) {
    deleteTrigger(input: { name: $name }) {
      trigger {
        id
      }
    }
  }
`);

const SOURCES: TriggerSourceType[] = ['SCHEDULE', 'QUEUE', 'TOPIC', 'BUCKET', 'HTTP', 'CLUSTER_EVENTS'];
const METHODS: HttpRouteMethod[] = ['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export function TriggersPage({ functionName, go }: { functionName: string; go: (path: string) => void }) {
  const [{ data, error }, refresh] = useQuery({
    query: ConsoleTriggers,
    variables: { filter: functionName ? { functionName } : null },
    requestPolicy: 'cache-and-network',
  });
  const reread = () => refresh({ requestPolicy: 'network-only' });
  const [toggled, toggle] = useMutation(ConsoleSetTriggerEnabled);
  const [removed, remove] = useMutation(ConsoleDeleteTrigger);
  const functions = data?.functions.edges.map((e) => e.node.name) ?? [];
  return (
    <section>
      <h1>Triggers{functionName ? ` of ${functionName}` : ''}</h1>
      <div className="filters">
        <label>
          Function{' '}
          <select
            value={functionName}
            onChange={(e) => go(e.target.value ? `/triggers?function=${encodeURIComponent(e.target.value)}` : '/triggers')}
            aria-label="filter by function"
          >
            <option value="">any</option>
            {functions.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
      </div>
      <CreateTrigger functions={functions} functionName={functionName} onCreated={reread} />
      <Problems error={error ?? toggled.error ?? removed.error} />
      <table className="list" aria-label="triggers">
        <thead>
          <tr>
            <th>Name</th>
            <th>Function</th>
            <th>Source</th>
            <th>Settings</th>
            <th>Enabled</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.triggers.edges.map(({ node: t }) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>
                <a href={`#/functions/${encodeURIComponent(t.functionName)}`}>{t.functionName}</a>
                {t.qualifier !== '$LATEST' ? `:${t.qualifier}` : ''}
              </td>
              <td>{t.sourceType}</td>
              <td className="mono settings">
                {t.http ? t.http.url : JSON.stringify(t.config)}
                {t.schedule?.nextFireAt ? ` · next ${when(t.schedule.nextFireAt)}` : ''}
              </td>
              <td>
                <input
                  type="checkbox"
                  checked={t.enabled}
                  aria-label={`${t.name} enabled`}
                  onChange={(e) => void toggle({ input: { name: t.name, enabled: e.target.checked } }).then(reread)}
                />
              </td>
              <td>{when(t.createdAt)}</td>
              <td>
                <button type="button" onClick={() => void remove({ name: t.name }).then(reread)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CreateTrigger({ functions, functionName, onCreated }: { functions: string[]; functionName: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [fn, setFn] = useState(functionName);
  const [qualifier, setQualifier] = useState('');
  const [source, setSource] = useState<TriggerSourceType>('SCHEDULE');
  const [result, create] = useMutation(ConsoleCreateTrigger);
  const { field, bind, optional } = useFields();

  const sourceOf = (): Partial<CreateTriggerInput> => {
    switch (source) {
      case 'SCHEDULE':
        return { schedule: { expression: field('expression'), timezone: optional('timezone') } };
      case 'QUEUE':
        return { queue: { queueName: field('queueName'), batchSize: intOrNone(field('batchSize')) } };
      case 'TOPIC':
        return { topic: { topicName: field('topicName') } };
      case 'BUCKET':
        return {
          bucket: {
            bucket: field('bucket'),
            events: linesOf(field('events') || 's3:ObjectCreated:*'),
            prefix: optional('prefix'),
            suffix: optional('suffix'),
          },
        };
      case 'HTTP':
        return { http: { method: (field('method') || 'ANY') as HttpRouteMethod, path: field('path') } };
      case 'CLUSTER_EVENTS': {
        const states = linesOf(field('states'));
        const kinds = field('kinds') ? [field('kinds') as ClusterEventsKind] : undefined;
        return { clusterEvents: { clusterId: optional('clusterId'), states: states.length ? states : undefined, kinds } };
      }
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await create({
      input: { name, functionName: fn || functions[0] || '', qualifier: qualifier || undefined, ...sourceOf() },
    });
    if (data) onCreated();
  };
  return (
    <form className="card" onSubmit={submit} aria-label="create a trigger">
      <h2>Create a trigger</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Function{' '}
        <select value={fn} onChange={(e) => setFn(e.target.value)}>
          {!fn ? <option value="">{functions[0] ?? '(none)'}</option> : null}
          {functions.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </label>
      <label>
        Qualifier <input value={qualifier} onChange={(e) => setQualifier(e.target.value)} placeholder="$LATEST" size={8} />
      </label>
      <label>
        Source{' '}
        <select value={source} onChange={(e) => setSource(e.target.value as TriggerSourceType)}>
          {SOURCES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      {source === 'SCHEDULE' ? (
        <>
          <label>
            Expression <input {...bind('expression')} placeholder="rate(5 minutes) or cron(0 18 ? * MON-FRI *)" size={30} />
          </label>
          <label>
            Time zone <input {...bind('timezone')} placeholder="UTC" />
          </label>
        </>
      ) : null}
      {source === 'QUEUE' ? (
        <>
          <label>
            Queue <input {...bind('queueName')} />
          </label>
          <label>
            Batch size <input {...bind('batchSize')} placeholder="10" size={5} />
          </label>
        </>
      ) : null}
      {source === 'TOPIC' ? (
        <label>
          Topic <input {...bind('topicName')} />
        </label>
      ) : null}
      {source === 'BUCKET' ? (
        <>
          <label>
            Bucket <input {...bind('bucket')} />
          </label>
          <label>
            Events (one a line) <textarea {...bind('events')} rows={2} placeholder="s3:ObjectCreated:*" />
          </label>
          <label>
            Prefix <input {...bind('prefix')} />
          </label>
          <label>
            Suffix <input {...bind('suffix')} placeholder=".csv" />
          </label>
        </>
      ) : null}
      {source === 'HTTP' ? (
        <>
          <label>
            Method{' '}
            <select {...bind('method')}>
              {METHODS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Path <input {...bind('path')} placeholder="/items/{id}" />
          </label>
        </>
      ) : null}
      {source === 'CLUSTER_EVENTS' ? (
        <>
          <label>
            Cluster id <input {...bind('clusterId')} placeholder="every cluster" />
          </label>
          <label>
            Kind{' '}
            <select {...bind('kinds')}>
              <option value="">CLUSTER and STEP</option>
              <option>CLUSTER</option>
              <option>STEP</option>
            </select>
          </label>
          <label>
            States (one a line) <textarea {...bind('states')} rows={2} placeholder="every state change" />
          </label>
        </>
      ) : null}
      <button type="submit" disabled={result.fetching}>
        Create trigger
      </button>
      <Problems error={result.error} />
    </form>
  );
}
