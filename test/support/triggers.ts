// Helpers for trigger tests: GraphQL documents and waiting for deliveries.
import type { DataApi } from './api.js';
import { INVOCATION_FIELDS } from './functions.js';
import { waitUntil } from './processes.js';

export const TRIGGER_FIELDS = 'id name functionName qualifier sourceType enabled config createdAt updatedAt';
export const CREATE_TRIGGER = `mutation($input: CreateTriggerInput!) { createTrigger(input: $input) { trigger { ${TRIGGER_FIELDS} } } }`;
export const UPDATE_TRIGGER = `mutation($input: UpdateTriggerInput!) { updateTrigger(input: $input) { trigger { ${TRIGGER_FIELDS} } } }`;
export const SET_TRIGGER_ENABLED = `mutation($name: String!, $enabled: Boolean!) { setTriggerEnabled(input: { name: $name, enabled: $enabled }) { trigger { ${TRIGGER_FIELDS} } } }`;
export const DELETE_TRIGGER = `mutation($name: String!) { deleteTrigger(input: { name: $name }) { trigger { ${TRIGGER_FIELDS} } } }`;
export const GET_TRIGGER = `query($name: String!) { trigger(name: $name) { ${TRIGGER_FIELDS} } }`;
export const LIST_TRIGGERS = `query($first: Int, $after: String, $filter: TriggerFilter) { triggers(first: $first, after: $after, filter: $filter) {
  edges { cursor node { ${TRIGGER_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
export const DELIVERIES = `query($name: String!, $first: Int, $after: String) { trigger(name: $name) { name deliveries(first: $first, after: $after) {
  edges { cursor node { at eventId status attempts invocation { ${INVOCATION_FIELDS} } } } pageInfo { hasNextPage endCursor } } } }`;

export async function createTrigger(server: DataApi, input: Record<string, unknown>): Promise<any> {
  return (await server.data(CREATE_TRIGGER, { input })).createTrigger.trigger;
}

/** The trigger's deliveries, newest first (up to 100). */
export async function deliveriesOf(server: DataApi, name: string): Promise<any[]> {
  return (await server.data(DELIVERIES, { name, first: 100 })).trigger.deliveries.edges.map((e: any) => e.node);
}

/** Waits until the trigger has `count` deliveries, all settled (SUCCEEDED or FAILED); oldest first. */
export async function waitForDeliveries(server: DataApi, name: string, count: number, timeoutMs = 20_000): Promise<any[]> {
  return waitUntil(
    async () => {
      const list = await deliveriesOf(server, name);
      const settled = list.filter((d) => d.status === 'SUCCEEDED' || d.status === 'FAILED');
      return list.length >= count && settled.length === list.length ? list.reverse() : null;
    },
    `${count} settled deliveries of trigger ${name}`,
    timeoutMs,
  );
}
