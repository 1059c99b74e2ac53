// GraphQL documents and helpers for queues and topics (tests of queues, topics and their triggers).
import crypto from 'node:crypto';
import type { DataApi } from './api.js';

/** SQS's MD5OfMessageBody, computed independently of the server's */
export const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

export const QUEUE_FIELDS = `id name arn visibilityTimeoutSeconds messageRetentionSeconds delaySeconds receiveMessageWaitTimeSeconds
  redrivePolicy { deadLetterQueueName maxReceiveCount } approximateNumberOfMessages approximateNumberOfMessagesNotVisible
  approximateNumberOfMessagesDelayed createdAt updatedAt`;
export const MESSAGE_FIELDS = `messageId receiptHandle body md5OfBody
  attributes { approximateReceiveCount sentTimestamp approximateFirstReceiveTimestamp }
  messageAttributes { name dataType stringValue binaryValue }`;
export const CREATE_QUEUE = `mutation($input: CreateQueueInput!) { createQueue(input: $input) { queue { ${QUEUE_FIELDS} } } }`;
export const DELETE_QUEUE = `mutation($name: String!) { deleteQueue(input: { name: $name }) { queue { name } } }`;
export const GET_QUEUE = `query($name: String!) { queue(name: $name) { ${QUEUE_FIELDS} } }`;
export const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId md5OfBody } }`;
export const SEND_BATCH = `mutation($input: SendMessageBatchInput!) { sendMessageBatch(input: $input) { successful { id messageId md5OfBody } } }`;
export const RECEIVE = `mutation($input: ReceiveMessagesInput!) { receiveMessages(input: $input) { messages { ${MESSAGE_FIELDS} } } }`;
export const DELETE_MESSAGE = `mutation($input: DeleteMessageInput!) { deleteMessage(input: $input) { deleted } }`;
export const CHANGE_VISIBILITY = `mutation($input: ChangeMessageVisibilityInput!) { changeMessageVisibility(input: $input) { ok } }`;
export const PURGE = `mutation($name: String!) { purgeQueue(input: { name: $name }) { purged } }`;

export async function createQueue(server: DataApi, input: Record<string, unknown>): Promise<any> {
  return (await server.data(CREATE_QUEUE, { input })).createQueue.queue;
}

export async function send(
  server: DataApi,
  queueName: string,
  body: string,
  extra: Record<string, unknown> = {},
): Promise<{ messageId: string; md5OfBody: string }> {
  return (await server.data(SEND, { input: { queueName, body, ...extra } })).sendMessage;
}

export async function receive(server: DataApi, queueName: string, extra: Record<string, unknown> = {}): Promise<any[]> {
  return (await server.data(RECEIVE, { input: { queueName, ...extra } })).receiveMessages.messages;
}

export async function getQueue(server: DataApi, name: string): Promise<any> {
  return (await server.data(GET_QUEUE, { name })).queue;
}

export const TOPIC_FIELDS = 'id name arn createdAt';
export const CREATE_TOPIC = `mutation($name: String!) { createTopic(input: { name: $name }) { topic { ${TOPIC_FIELDS} } } }`;
export const DELETE_TOPIC = `mutation($name: String!) { deleteTopic(input: { name: $name }) { topic { ${TOPIC_FIELDS} } } }`;
export const GET_TOPIC = `query($name: String!) { topic(name: $name) { ${TOPIC_FIELDS} subscriptions { name enabled } } }`;
export const PUBLISH = `mutation($input: PublishInput!) { publish(input: $input) { messageId deliveries } }`;

export async function createTopic(server: DataApi, name: string): Promise<any> {
  return (await server.data(CREATE_TOPIC, { name })).createTopic.topic;
}

export async function publish(server: DataApi, input: Record<string, unknown>): Promise<{ messageId: string; deliveries: number }> {
  return (await server.data(PUBLISH, { input })).publish;
}
