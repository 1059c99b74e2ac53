// emberplane queues send|receive
import { Command } from 'commander';
import { graphql } from '../../client/gql/index.js';
import { contextOf, wholeNumber } from '../context.js';
import { printRecord, printRows } from '../output.js';

const Send = graphql(`
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) {
      messageId
      md5OfBody
    }
  }
`);

const Receive = graphql(`
  mutation Receive($input: ReceiveMessagesInput!) {
    receiveMessages(input: $input) {
      messages {
        messageId
        body
        receiptHandle
      }
    }
  }
`);

const Delete = graphql(`
  mutation DeleteReceived($input: DeleteMessageInput!) {
    deleteMessage(input: $input) {
      deleted
    }
  }
`);

export function queuesCommand(): Command {
  const queues = new Command('queues').description('send and receive queue messages');

  queues
    .command('send')
    .description('send a message')
    .argument('<queue>')
    .requiredOption('--body <text>', 'the message body')
    .option('--delay <seconds>', 'deliver after this delay', wholeNumber('--delay'))
    .action(async (queueName: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const sent = (
        await client.request(Send, {
          input: { queueName, body: opts.body, ...(opts.delay !== undefined ? { delaySeconds: opts.delay } : {}) },
        })
      ).sendMessage;
      printRecord(output, sent);
    });

  queues
    .command('receive')
    .description('receive messages (they are invisible to others for the visibility timeout, unless --delete)')
    .argument('<queue>')
    .option('--max <count>', 'at most this many (1-10)', wholeNumber('--max', 1), 1)
    .option('--wait-seconds <seconds>', 'long polling: wait up to this long (0-20) for a message', wholeNumber('--wait-seconds'))
    .option('--delete', 'delete each message once received')
    .action(async (queueName: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const { messages } = (
        await client.request(Receive, {
          input: {
            queueName,
            maxNumberOfMessages: opts.max,
            ...(opts.waitSeconds !== undefined ? { waitTimeSeconds: opts.waitSeconds } : {}),
          },
        })
      ).receiveMessages;
      if (opts.delete) for (const m of messages) await client.request(Delete, { input: { queueName, receiptHandle: m.receiptHandle } });
      printRows(output, messages, [
        { header: 'MESSAGE ID', value: (m) => m.messageId },
        { header: 'BODY', value: (m) => m.body },
      ]);
    });

  return queues;
}
