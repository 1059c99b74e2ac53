// The topics pages: the list with a create form, and a topic's page: publish (subject, message),
// its subscriptions (queues and TOPIC triggers), and a queue subscribed to it.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import { Problems, when } from '../parts/common';

const ConsoleTopics = graphql(`
  query ConsoleTopics {
    topics(first: 100) {
      edges {
        node {
          id
          name
          createdAt
          queueSubscriptions {
            id
          }
          subscriptions {
            id
          }
        }
      }
    }
  }
`);

const ConsoleTopic = graphql(`
  query ConsoleTopic($name: String!) {
    topic(name: $name) {
      id
      name
      arn
      queueSubscriptions {
        id
        queueName
        rawMessageDelivery
        filterPolicy
      }
      subscriptions {
        id
        name
        functionName
        enabled
      }
    }
  }
`);

const ConsoleCreateTopic = graphql(`
  mutation ConsoleCreateTopic($name: String!) {
    createTopic(input: { name: $name }) {
      topic {
        id
        name
      }
    }
  }
`);

const ConsolePublish = graphql(`
  mutation ConsolePublish($input: PublishInput!) {
    publish(input: $input) {
      messageId
      deliveries
    }
  }
`);

const ConsoleSubscribeQueue = graphql(`
  mutation ConsoleSubscribeQueue($input: SubscribeQueueInput!) {
    subscribeQueue(input: $input) {
      subscription {
        id
      }
    }
  }
`);

export function TopicsPage({ go }: { go: (path: string) => void }) {
  const [{ data, error }] = useQuery({ query: ConsoleTopics, requestPolicy: 'cache-and-network' });
  const [name, setName] = useState('');
  const [created, create] = useMutation(ConsoleCreateTopic);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data: made } = await create({ name });
    if (made) go(`/topics/${encodeURIComponent(made.createTopic.topic.name)}`);
  };
  return (
    <section>
      <h1>Topics</h1>
      <form className="card" onSubmit={submit} aria-label="create a topic">
        <h2>Create a topic</h2>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={created.fetching}>
          Create topic
        </button>
        <Problems error={created.error} />
      </form>
      <Problems error={error} />
      <table className="list" aria-label="topics">
        <thead>
          <tr>
            <th>Name</th>
            <th>Queues</th>
            <th>Functions</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.topics.edges.map(({ node: t }) => (
            <tr key={t.id}>
              <td>
                <a href={`#/topics/${encodeURIComponent(t.name)}`}>{t.name}</a>
              </td>
              <td>{t.queueSubscriptions.length}</td>
              <td>{t.subscriptions.length}</td>
              <td>{when(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function TopicPage({ name }: { name: string }) {
  const [{ data, error }, refresh] = useQuery({ query: ConsoleTopic, variables: { name }, requestPolicy: 'cache-and-network' });
  const topic = data?.topic;
  if (error) return <Problems error={error} />;
  if (!topic) return <p>{data ? `No topic ${name}.` : 'Loading…'}</p>;
  return (
    <section>
      <p>
        <a href="#/topics">← Topics</a>
      </p>
      <h1>{topic.name}</h1>
      <p className="mono">{topic.arn}</p>
      <Publish topicName={topic.name} />
      <h2>Subscriptions</h2>
      <table className="list" aria-label="subscriptions">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Target</th>
            <th>Delivery</th>
          </tr>
        </thead>
        <tbody>
          {topic.queueSubscriptions.map((s) => (
            <tr key={s.id}>
              <td>queue</td>
              <td>
                <a href={`#/queues/${encodeURIComponent(s.queueName)}`}>{s.queueName}</a>
              </td>
              <td>
                {s.rawMessageDelivery ? 'raw message' : 'SNS notification (JSON)'}
                {s.filterPolicy ? ` · filter ${JSON.stringify(s.filterPolicy)}` : ''}
              </td>
            </tr>
          ))}
          {topic.subscriptions.map((t) => (
            <tr key={t.id}>
              <td>function</td>
              <td>
                <a href={`#/functions/${encodeURIComponent(t.functionName)}`}>{t.functionName}</a> (trigger {t.name})
              </td>
              <td>{t.enabled ? 'enabled' : 'disabled'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <SubscribeQueue topicName={topic.name} onDone={() => refresh({ requestPolicy: 'network-only' })} />
    </section>
  );
}

function Publish({ topicName }: { topicName: string }) {
  const [subject, setSubject] = useState('');
  const [message, setMessage] = useState('');
  const [result, publish] = useMutation(ConsolePublish);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void publish({ input: { topicName, message, subject: subject || undefined } });
  };
  const done = result.data?.publish;
  return (
    <form className="card" onSubmit={submit} aria-label="publish">
      <h2>Publish</h2>
      <label>
        Subject <input value={subject} onChange={(e) => setSubject(e.target.value)} />
      </label>
      <textarea className="code" value={message} onChange={(e) => setMessage(e.target.value)} aria-label="message" rows={3} />
      <button type="submit" disabled={result.fetching}>
        Publish
      </button>
      {done ? (
        <output className="note" aria-label="published">
          message {done.messageId} queued for {done.deliveries} subscription{done.deliveries === 1 ? '' : 's'}
        </output>
      ) : null}
      <Problems error={result.error} />
    </form>
  );
}

function SubscribeQueue({ topicName, onDone }: { topicName: string; onDone: () => void }) {
  const [queueName, setQueueName] = useState('');
  const [raw, setRaw] = useState(false);
  const [result, subscribe] = useMutation(ConsoleSubscribeQueue);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await subscribe({ input: { topicName, queueName, rawMessageDelivery: raw } });
    if (data) onDone();
  };
  return (
    <form className="card" onSubmit={submit} aria-label="subscribe a queue">
      <h3>Subscribe a queue</h3>
      <label>
        Queue <input value={queueName} onChange={(e) => setQueueName(e.target.value)} />
      </label>
      <label>
        <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> raw message delivery
      </label>
      <button type="submit" disabled={result.fetching}>
        Subscribe
      </button>
      <Problems error={result.error} />
    </form>
  );
}
