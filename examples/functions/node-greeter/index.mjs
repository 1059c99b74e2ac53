// An unmodified Lambda handler (ESM, async): answers an API Gateway HTTP API 2.0 event.
import { greeting } from './lib/greeting.mjs';

/**
 * @param {{ queryStringParameters?: Record<string, string> }} event
 * @param {{ awsRequestId: string, functionVersion: string, getRemainingTimeInMillis(): number }} context
 */
export const handler = async (event, context) => {
  const name = event.queryStringParameters?.name ?? 'world';
  console.log(`greeting ${name} (${context.getRemainingTimeInMillis()} ms left)`);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: greeting(name), requestId: context.awsRequestId, version: context.functionVersion }),
  };
};
