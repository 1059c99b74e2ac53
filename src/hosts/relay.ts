// Several servers share one database and the controller leader may not hold a host's session: its
// requests to that host go to the server that does, through NOTIFY (ep_host_relay), and the reply
// comes back the same way. Payloads are sealed with the platform secrets key: a launch carries the
// node agent's token, and anyone with a database login may LISTEN.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import type { Secrets } from '../platform/secrets.js';
import type { HostGateway, HostRequest } from './gateway.js';

type Relayed =
  | { kind: 'request'; from: string; requestId: string; hostId: string; message: HostRequest; timeoutMs: number }
  | { kind: 'reply'; requestId: string; ok: true; result?: unknown }
  | { kind: 'reply'; requestId: string; ok: false; error: string };

export class HostRelay {
  private pending = new Map<string, { resolve(r: unknown): void; reject(err: Error): void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly sql: Sql,
    private readonly secrets: Secrets,
    private readonly serverId: string,
    private readonly gateway: HostGateway,
    private readonly log: Logger,
  ) {}

  private async post(serverId: string, body: Relayed): Promise<void> {
    await notify(this.sql, Channel.hostRelay, `${serverId}:${this.secrets.encrypt(JSON.stringify(body))}`);
  }

  /** Asks `serverId` to pass `message` to the host it holds; its reply, or a timeout. */
  request<T = unknown>(serverId: string, hostId: string, message: HostRequest, timeoutMs: number): Promise<T> {
    const requestId = crypto.randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`server ${serverId} did not answer for host ${hostId} within ${timeoutMs / 1000} s`));
      }, timeoutMs + 5_000);
      this.pending.set(requestId, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.post(serverId, { kind: 'request', from: this.serverId, requestId, hostId, message, timeoutMs }).catch((err) => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(err);
      });
    });
  }

  /** A notification on ep_host_relay: requests for hosts held here, replies to requests made here. */
  received(payload: string): void {
    const at = payload.indexOf(':');
    if (payload.slice(0, at) !== this.serverId) return;
    let body: Relayed;
    try {
      body = JSON.parse(this.secrets.decrypt(payload.slice(at + 1))) as Relayed;
    } catch (err) {
      this.log.warn({ err }, 'unreadable host relay message ignored');
      return;
    }
    if (body.kind === 'request') {
      const answer = (reply: Relayed) => this.post(body.from, reply).catch((err) => this.log.warn({ err }, 'host relay reply not sent'));
      this.gateway.request(body.hostId, body.message, body.timeoutMs).then(
        (result) => answer({ kind: 'reply', requestId: body.requestId, ok: true, result }),
        (err: Error) => answer({ kind: 'reply', requestId: body.requestId, ok: false, error: err.message }),
      );
      return;
    }
    const pending = this.pending.get(body.requestId);
    if (!pending) return;
    this.pending.delete(body.requestId);
    clearTimeout(pending.timer);
    if (body.ok) pending.resolve(body.result);
    else pending.reject(new Error(body.error));
  }
}
