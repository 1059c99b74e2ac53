// Helpers for function tests: GraphQL documents, deploying a function and waiting until it can run.
import { expect } from 'vitest';
import { waitUntil } from './processes.js';
import type { DataApi } from './api.js';

export const FUNCTION_FIELDS = `id name arn runtime handler state stateReason lastUpdateStatus lastUpdateStatusReason memoryMb ephemeralStorageMb timeoutSeconds executionKeyId
  codeSha256 codeSize reservedConcurrency environment revisionId
  eventInvokeConfig { maximumRetryAttempts maximumEventAgeSeconds onSuccess onFailure }
  loggingConfig { logFormat applicationLogLevel systemLogLevel logGroup }`;
export const INVOCATION_FIELDS = `id functionName qualifier executedVersion invocationType status payload response functionError errorType
  errorMessage attempts coldStart initDurationMs durationMs billedDurationMs memoryMb maxMemoryUsedMb instanceId traceId sourceInvocationId
  createdAt startedAt endedAt logs { at stream text }`;
export const CREATE_FUNCTION = `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { ${FUNCTION_FIELDS} } } }`;
export const UPDATE_CODE = `mutation($input: UpdateFunctionCodeInput!) { updateFunctionCode(input: $input) { function { ${FUNCTION_FIELDS} } } }`;
export const UPDATE_CONFIG = `mutation($input: UpdateFunctionConfigurationInput!) { updateFunctionConfiguration(input: $input) { function { ${FUNCTION_FIELDS} } } }`;
export const DELETE_FUNCTION = `mutation($name: String!) { deleteFunction(input: { functionName: $name }) { functionName } }`;
export const GET_FUNCTION = `query($name: String!) { function(name: $name) { ${FUNCTION_FIELDS} versions { version codeSha256 memoryMb ephemeralStorageMb createdAt } aliases { name functionVersion routing { additionalVersionWeights { version weight } } } instances { busy total } } }`;
export const INVOKE = `mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) {
  statusCode payload functionError logResult executedVersion invocation { ${INVOCATION_FIELDS} } } }`;
export const GET_INVOCATION = `query($id: ID!) { invocation(id: $id) { ${INVOCATION_FIELDS} } }`;

export interface FileSpec {
  path: string;
  content: string;
  executable?: boolean;
}

export async function createFunction(server: DataApi, input: Record<string, unknown>): Promise<any> {
  return (await server.data(CREATE_FUNCTION, { input })).createFunction.function;
}

/** Polls until the function is ACTIVE with no update in progress (or fails the test if it FAILED). */
export async function waitForActive(server: DataApi, name: string): Promise<any> {
  return waitUntil(
    async () => {
      const fn = (await server.data(GET_FUNCTION, { name })).function;
      if (fn.state === 'FAILED') throw new Error(`function ${name} FAILED: ${fn.stateReason}`);
      return fn.state === 'ACTIVE' && fn.lastUpdateStatus !== 'IN_PROGRESS' ? fn : null;
    },
    `function ${name} to be ACTIVE`,
    20_000,
  );
}

export async function deploy(server: DataApi, input: Record<string, unknown>): Promise<any> {
  await createFunction(server, input);
  return waitForActive(server, input.name as string);
}

export async function invoke(server: DataApi, input: Record<string, unknown>): Promise<any> {
  return (await server.data(INVOKE, { input })).invokeFunction;
}

/** An invocation's text log (START … REPORT), from the payload's record. */
export const logText = (inv: { logs: Array<{ text: string }> }) => inv.logs.map((l) => l.text).join('\n');

export function expectReport(line: string | undefined, memoryMb: number, cold: boolean) {
  const re = new RegExp(
    `^REPORT RequestId: [0-9a-f-]{36}\\tDuration: \\d+\\.\\d{2} ms\\tBilled Duration: \\d+ ms\\tMemory Size: ${memoryMb} MB\\tMax Memory Used: \\d+ MB${cold ? '\\tInit Duration: \\d+\\.\\d{2} ms' : ''}$`,
  );
  expect(line).toMatch(re);
}
