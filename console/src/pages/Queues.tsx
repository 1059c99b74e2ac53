// The queues pages: the list with a create form (a dead-letter queue and its max receive count
// included), and a queue's page: its counts and settings, send, receive (each message with its
// receive count, deletable by its receipt handle), purge, and redrive: the messages of its
// dead-letter queue moved back to it.
import { useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery, type CombinedError } from 'urql';
import { graphql } from '../../../src/client/gql/index.js';
import type { ConsoleReceiveMutation } from '../../../src/client/gql/graphql.js';
import { Problems, when } from '../parts/common';
import { intOrNone } from '../parts/forms';

const ConsoleQueues = graphql(`
  query ConsoleQueues {
    queues(first: 100) {
      edges {
        node {
          id
          name
          approximateNumberOfMessages
          approximateNumberOfMessagesNotVisible
          redrivePolicy {
            deadLetterQueueName
            maxReceiveCount
          }
          createdAt
        }
      }
    }
  }
`);

const ConsoleQueue = graphql(`
  query ConsoleQueue($name: String!) {
    queue(name: $name) {
      id
      name
      arn
      approximateNumberOfMessages
      approximateNumberOfMessagesNotVisible
      approximateNumberOfMessagesDelayed
      visibilityTimeoutSeconds
      delaySeconds
      messageRetentionSeconds
      receiveMessageWaitTimeSeconds
      redrivePolicy {
        deadLetterQueueName
        maxReceiveCount
      }
    }
  }
`);

const ConsoleCreateQueue = graphql(`
  mutation ConsoleCreateQueue($input: CreateQueueInput!) {
    createQueue(input: $input) {
      queue {
        id
        name
      }
    }
  }
`);

const ConsoleSend = graphql(`
  mutation ConsoleSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      messageId
    }
  }
`);

const ConsoleReceive = graphql(`
  mutation ConsoleReceive($input: ReceiveMessagesInput!) {
    receiveMessages(input: $input) {
      messages {
        messageId
        body
        receiptHandle
        messageAttributes {
          name
          dataType
          stringValue
          binaryValue
        }
        attributes {
          approximateReceiveCount
          sentTimestamp
        }
      }
    }
  }
`);

const ConsoleDeleteMessage = graphql(`
  mutation ConsoleDeleteMessage($input: DeleteMessageInput!) {
    deleteMessage(input: $input) {
      deleted
    }
  }
`);

const ConsolePurge = graphql(`
  mutation ConsolePurge($name: String!) {
    purgeQueue(input: { name: $name }) {
      purged
    }
  }
`);

export function QueuesPage({ go }: { go: (path: string) => void }) {
  const [{ data, error }] = useQuery({ query: ConsoleQueues, requestPolicy: 'cache-and-network' });
  return (
    <section>
      <h1>Queues</h1>
      <CreateQueue onCreated={(name) => go(`/queues/${encodeURIComponent(name)}`)} />
      <Problems error={error} />
      <table className="list" aria-label="queues">
        <thead>
          <tr>
            <th>Name</th>
            <th>Visible</th>
            <th>In flight</th>
            <th>Dead-letter queue</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.queues.edges.map(({ node: q }) => (
            <tr key={q.id}>
              <td>
                <a href={`#/queues/${encodeURIComponent(q.name)}`}>{q.name}</a>
              </td>
              <td>{q.approximateNumberOfMessages}</td>
              <td>{q.approximateNumberOfMessagesNotVisible}</td>
              <td>{q.redrivePolicy ? `${q.redrivePolicy.deadLetterQueueName} after ${q.redrivePolicy.maxReceiveCount} receives` : '–'}</td>
              <td>{when(q.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CreateQueue({ onCreated }: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [visibility, setVisibility] = useState('');
  const [deadLetter, setDeadLetter] = useState('');
  const [maxReceives, setMaxReceives] = useState('3');
  const [result, create] = useMutation(ConsoleCreateQueue);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await create({
      input: {
        name,
        visibilityTimeoutSeconds: intOrNone(visibility),
        redrivePolicy: deadLetter.trim() ? { deadLetterQueueName: deadLetter.trim(), maxReceiveCount: Number(maxReceives) } : undefined,
      },
    });
    if (data) onCreated(data.createQueue.queue.name);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="create a queue">
      <h2>Create a queue</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Visibility timeout (s) <input value={visibility} onChange={(e) => setVisibility(e.target.value)} size={6} placeholder="30" />
      </label>
      <label>
        Dead-letter queue <input value={deadLetter} onChange={(e) => setDeadLetter(e.target.value)} placeholder="none" />
      </label>
      <label>
        after receives <input value={maxReceives} onChange={(e) => setMaxReceives(e.target.value)} size={4} />
      </label>
      <button type="submit" disabled={result.fetching}>
        Create queue
      </button>
      <Problems error={result.error} />
    </form>
  );
}

export function QueuePage({ name }: { name: string }) {
  const [{ data, error }, refresh] = useQuery({ query: ConsoleQueue, variables: { name }, requestPolicy: 'cache-and-network' });
  const reread = () => refresh({ requestPolicy: 'network-only' });
  const [purged, purge] = useMutation(ConsolePurge);
  const queue = data?.queue;
  if (error) return <Problems error={error} />;
  if (!queue) return <p>{data ? `No queue ${name}.` : 'Loading…'}</p>;
  return (
    <section>
      <p>
        <a href="#/queues">← Queues</a>
      </p>
      <h1>
        {queue.name}{' '}
        <button type="button" onClick={reread}>
          Refresh
        </button>
      </h1>
      <p className="mono">{queue.arn}</p>
      <p data-testid="queue-counts">
        {queue.approximateNumberOfMessages} visible · {queue.approximateNumberOfMessagesNotVisible} in flight ·{' '}
        {queue.approximateNumberOfMessagesDelayed} delayed
      </p>
      <p>
        Visibility timeout {queue.visibilityTimeoutSeconds} s · delay {queue.delaySeconds} s · retention {queue.messageRetentionSeconds} s ·
        long polling {queue.receiveMessageWaitTimeSeconds} s
        {queue.redrivePolicy ? (
          <>
            {' '}
            · dead-letter queue{' '}
            <a href={`#/queues/${encodeURIComponent(queue.redrivePolicy.deadLetterQueueName)}`}>
              {queue.redrivePolicy.deadLetterQueueName}
            </a>{' '}
            after {queue.redrivePolicy.maxReceiveCount} receives
          </>
        ) : null}
      </p>
      <Send queueName={queue.name} onSent={reread} />
      <Receive queueName={queue.name} onChange={reread} />
      {queue.redrivePolicy ? (
        <Redrive queueName={queue.name} deadLetterQueueName={queue.redrivePolicy.deadLetterQueueName} onMoved={reread} />
      ) : null}
      <p>
        <button
          type="button"
          disabled={purged.fetching}
          onClick={async () => {
            await purge({ name: queue.name });
            reread();
          }}
        >
          Purge
        </button>
        {purged.data ? ` ${purged.data.purgeQueue.purged} messages deleted` : null}
        <Problems error={purged.error} />
      </p>
    </section>
  );
}

function Send({ queueName, onSent }: { queueName: string; onSent: () => void }) {
  const [body, setBody] = useState('');
  const [delay, setDelay] = useState('');
  const [result, send] = useMutation(ConsoleSend);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await send({ input: { queueName, body, delaySeconds: intOrNone(delay) } });
    if (data) onSent();
  };
  return (
    <form className="card" onSubmit={submit} aria-label="send a message">
      <h2>Send</h2>
      <textarea className="code" value={body} onChange={(e) => setBody(e.target.value)} aria-label="message body" rows={3} />
      <label>
        Delay (s) <input value={delay} onChange={(e) => setDelay(e.target.value)} size={4} />
      </label>
      <button type="submit" disabled={result.fetching}>
        Send
      </button>
      {result.data ? <span className="note">sent {result.data.sendMessage.messageId}</span> : null}
      <Problems error={result.error} />
    </form>
  );
}

type Received = ConsoleReceiveMutation['receiveMessages']['messages'][number];

function Receive({ queueName, onChange }: { queueName: string; onChange: () => void }) {
  const [max, setMax] = useState('10');
  const [wait, setWait] = useState('1');
  const [messages, setMessages] = useState<Received[] | null>(null);
  const [deleted, setDeleted] = useState<Set<string>>(new Set());
  const [result, receive] = useMutation(ConsoleReceive);
  const [removal, remove] = useMutation(ConsoleDeleteMessage);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { data } = await receive({ input: { queueName, maxNumberOfMessages: intOrNone(max), waitTimeSeconds: intOrNone(wait) } });
    if (data) {
      setMessages(data.receiveMessages.messages);
      setDeleted(new Set());
      onChange();
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="receive messages">
      <h2>Receive</h2>
      <label>
        At most <input value={max} onChange={(e) => setMax(e.target.value)} size={3} />
      </label>
      <label>
        Wait (s) <input value={wait} onChange={(e) => setWait(e.target.value)} size={3} />
      </label>
      <button type="submit" disabled={result.fetching}>
        Receive
      </button>
      <Problems error={result.error ?? removal.error} />
      {messages ? (
        messages.length ? (
          <table className="list" aria-label="received messages">
            <thead>
              <tr>
                <th>Message id</th>
                <th>Body</th>
                <th>Receives</th>
                <th>Sent</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {messages.map((m) => (
                <tr key={m.receiptHandle}>
                  <td className="mono">{m.messageId}</td>
                  <td className="mono body">{m.body}</td>
                  <td>{m.attributes.approximateReceiveCount}</td>
                  <td>{when(m.attributes.sentTimestamp)}</td>
                  <td>
                    {deleted.has(m.receiptHandle) ? (
                      'deleted'
                    ) : (
                      <button
                        type="button"
                        onClick={async () => {
                          const { data } = await remove({ input: { queueName, receiptHandle: m.receiptHandle } });
                          if (data?.deleteMessage.deleted) setDeleted(new Set([...deleted, m.receiptHandle]));
                          onChange();
                        }}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="empty">No message was visible.</p>
        )
      ) : null}
    </form>
  );
}

/**
 * Moves the dead-letter queue's messages back to this queue, through the public API as a user
 * would: receive a batch from the dead-letter queue, send each message here, then delete it there.
 * A message is deleted only after it was sent, so a tab closed midway leaves a copy in the
 * dead-letter queue, never a loss (at least once, as SQS's redrive).
 */
function Redrive({ queueName, deadLetterQueueName, onMoved }: { queueName: string; deadLetterQueueName: string; onMoved: () => void }) {
  const client = useClient();
  const [moved, setMoved] = useState<number | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<CombinedError | undefined>();
  const run = async () => {
    setRunning(true);
    setError(undefined);
    let count = 0;
    try {
      for (;;) {
        const got = await client.mutation(ConsoleReceive, {
          input: { queueName: deadLetterQueueName, maxNumberOfMessages: 10, waitTimeSeconds: 0 },
        });
        if (got.error) throw got.error;
        const batch = got.data?.receiveMessages.messages ?? [];
        if (!batch.length) break;
        for (const m of batch) {
          const messageAttributes = m.messageAttributes.map(({ name, dataType, stringValue, binaryValue }) => ({
            name,
            dataType,
            stringValue,
            binaryValue,
          }));
          const sent = await client.mutation(ConsoleSend, { input: { queueName, body: m.body, messageAttributes } });
          if (sent.error) throw sent.error;
          const gone = await client.mutation(ConsoleDeleteMessage, {
            input: { queueName: deadLetterQueueName, receiptHandle: m.receiptHandle },
          });
          if (gone.error) throw gone.error;
          count++;
          setMoved(count);
        }
      }
      setMoved(count);
    } catch (err) {
      setError(err as CombinedError);
    } finally {
      setRunning(false);
      onMoved();
    }
  };
  return (
    <section className="card" aria-label="redrive">
      <h2>Redrive</h2>
      <button type="button" disabled={running} onClick={() => void run()}>
        Move messages back from {deadLetterQueueName}
      </button>
      {moved !== null ? (
        <span className="note">
          {moved} moved{running ? '…' : ''}
        </span>
      ) : null}
      <Problems error={error} />
    </section>
  );
}
