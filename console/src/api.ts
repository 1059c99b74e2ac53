// The console's connection to the API: the same public GraphQL API as any client, over HTTP for
// queries and mutations and graphql-ws for subscriptions, with the key the user signed in with. The
// key lives in this tab's sessionStorage only: never in a URL, gone when the tab closes.
import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient as createSocket } from 'graphql-ws';
import { Client, fetchExchange, subscriptionExchange, type CombinedError } from 'urql';

const KEY = 'emberplane:apiKey';

export const savedKey = (): string | null => sessionStorage.getItem(KEY);
export const saveKey = (key: string): void => sessionStorage.setItem(KEY, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY);

/** A normalized cache keyed by id; the types below have no id of their own and live inside their parent. */
const EMBEDDED = [
  'LogLine',
  'LogLineConnection',
  'LogLineEdge',
  'PageInfo',
  'ClusterConnection',
  'ClusterEdge',
  'StepConnection',
  'StepEdge',
  'StateChangeReason',
  'FailureDetails',
  'ClusterEvent',
  'InstanceType',
  'SparkInfo',
  'ClusterUsage',
  'InstanceEndpoints',
  'CreateClusterPayload',
  'AddStepsPayload',
  'TerminateClustersPayload',
  'CancelStepsPayload',
  'CancelStepsInfo',
  'FunctionConnection',
  'FunctionEdge',
  'FunctionInstances',
  'FunctionVersion',
  'Alias',
  'AliasRouting',
  'VersionWeight',
  'InvokeFunctionPayload',
  'InvocationLogLine',
  'CreateFunctionPayload',
  'Bucket',
  'BucketObject',
  'ObjectConnection',
  'ObjectEdge',
  'CreateBucketPayload',
  'QueueConnection',
  'QueueEdge',
  'RedrivePolicy',
  'QueueMessage',
  'QueueMessageAttributes',
  'MessageAttribute',
  'CreateQueuePayload',
  'SendMessagePayload',
  'ReceiveMessagesPayload',
  'DeleteMessagePayload',
  'PurgeQueuePayload',
  'TopicConnection',
  'TopicEdge',
  'CreateTopicPayload',
  'PublishPayload',
  'SubscribeQueuePayload',
  'TriggerConnection',
  'TriggerEdge',
  'ScheduleSource',
  'HttpSource',
  'CreateTriggerPayload',
  'SetTriggerEnabledPayload',
  'DeleteTriggerPayload',
  'SqlPreview',
  'SqlColumn',
  'CreateApiKeyPayload',
  'RevokeApiKeyPayload',
  'CreateAliasPayload',
  'PublishVersionPayload',
  'UpdateAliasPayload',
  'FunctionMetricsDatapoint',
  'MetricSeries',
  'MetricDatapoint',
  'MetricInfo',
];

export function apiClient(key: string): Client {
  const http = new URL('/graphql', location.href).href;
  const socket = createSocket({ url: http.replace(/^http/, 'ws'), connectionParams: { authorization: `Bearer ${key}` }, lazy: true });
  return new Client({
    url: http,
    // POST always: a GET with the document in its URL is refused by the server's CSRF guard
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${key}` } }),
    exchanges: [
      cacheExchange({ keys: { ...Object.fromEntries(EMBEDDED.map((t) => [t, () => null])), Function: (f) => String(f.name) } }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
}

/** An API error as the API reports it: code, the field at fault, message. */
export interface Problem {
  code: string;
  field: string | null;
  message: string;
}

export function problemsOf(error: CombinedError | undefined): Problem[] {
  if (!error) return [];
  if (error.networkError && !error.graphQLErrors.length) return [{ code: 'UNREACHABLE', field: null, message: error.networkError.message }];
  return error.graphQLErrors.map((e) => ({
    code: String(e.extensions?.code ?? 'ERROR'),
    field: typeof e.extensions?.field === 'string' ? e.extensions.field : null,
    message: e.message,
  }));
}
