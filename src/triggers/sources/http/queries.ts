import type { Db } from '../../../platform/db/client.js';

export interface HttpTriggerRow {
  id: string;
  name: string;
  functionName: string;
  qualifier: string;
  enabled: boolean;
  config: unknown;
}

/** Every HTTP trigger (the route table is built from them), oldest first: the first of a clash wins. */
export async function httpTriggers(db: Db): Promise<HttpTriggerRow[]> {
  return db<HttpTriggerRow[]>`
    select id, name, function_name, qualifier, enabled, config from triggers
    where source_type = 'HTTP' order by created_at, id`;
}

/** The trigger already holding a route with this method and shape, other than `triggerId`. */
export async function routeHolder(
  db: Db,
  method: string,
  shape: string,
  triggerId: string,
): Promise<{ name: string; path: string } | undefined> {
  const [row] = await db<{ name: string; path: string }[]>`
    select t.name, r.path from http_routes r join triggers t on t.id = r.trigger_id
    where r.method = ${method} and r.shape = ${shape} and r.trigger_id <> ${triggerId}`;
  return row;
}

/** Claims the route for the trigger (its row is unique on method and shape). */
export async function saveRoute(db: Db, r: { triggerId: string; method: string; shape: string; path: string }): Promise<void> {
  await db`
    insert into http_routes (trigger_id, method, shape, path) values (${r.triggerId}, ${r.method}, ${r.shape}, ${r.path})
    on conflict (trigger_id) do update set method = excluded.method, shape = excluded.shape, path = excluded.path`;
}
