import type { Db } from '../db/client.js';

/**
 * NOTIFY channels. Payloads carry ids and sequence numbers only (Postgres caps them at 8000 bytes);
 * receivers read the rows. NOTIFY is a latency hint: every consumer also polls or catches up.
 */
export const Channel = {
  /** `<clusterId>:<seq>` a cluster event was appended. Every state change appends one, so this is
   *  also the hint that controllers may have work for that cluster. */
  clusterEvent: 'ep_cluster_event',
  /** `<streamId>:<seq>` log lines up to seq were stored */
  log: 'ep_log',
  /** `<keyId>` an API key was revoked */
  apiKey: 'ep_api_key',
  /** `<invocationId>` an async invocation was queued (or a function's code awaits unpacking: `fn:<id>`) */
  invocation: 'ep_invocation',
  /** `<triggerId>` a trigger was created, changed or deleted (`fn:<functionId>`: a function's triggers went
   *  with it): caches of triggers (HTTP routes, schedules) reload */
  triggers: 'ep_triggers',
  /** `BUCKET` | `CLUSTER_EVENTS`: source events (object changes, cluster or step state changes) await the
   *  trigger dispatcher (one notification per transaction and source: equal payloads collapse) */
  triggerOutbox: 'ep_trigger_outbox',
  /** `<queueId>` messages became visible in a queue (sent, moved to it, or made visible): wakes long polls */
  queue: 'ep_queue',
  /** `<functionName>` a function, its versions or aliases changed: servers drop what they cached of it */
  functions: 'ep_function',
  /** `hosts:<seq>` a host joined or changed state (hosts module): subscribers follow it, controllers may have work */
  hostEvent: 'ep_host_event',
  /** `<serverId>:<sealed request>` / `<serverId>:<sealed reply>`: a call for a host connected to another server (hosts/relay.ts) */
  hostRelay: 'ep_host_relay',
} as const;
export type ChannelName = (typeof Channel)[keyof typeof Channel];

/** Queue a notification inside the caller's transaction: it is delivered only if that commits. */
export async function notify(db: Db, channel: ChannelName, payload: string): Promise<void> {
  await db`select pg_notify(${channel}, ${payload})`;
}
