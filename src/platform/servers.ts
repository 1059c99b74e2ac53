import type { Sql } from './db/client.js';

const STALE_AFTER_S = 30;

/**
 * Control-plane processes sharing the database. Agents get every live server's URL so that they
 * can reconnect to another replica when theirs goes away.
 */
export class ServerRegistry {
  private urls: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly serverId: string,
  ) {}

  async register(agentUrl: string): Promise<void> {
    this.urls = [agentUrl];
    await this.sql`insert into servers (id, agent_url) values (${this.serverId}, ${agentUrl})
                   on conflict (id) do update set agent_url = excluded.agent_url, heartbeat_at = now()`;
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => {});
    }, 5_000);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    await this.sql`update servers set heartbeat_at = now() where id = ${this.serverId}`;
    await this.sql`delete from servers where heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_S * 10})`;
    const rows = await this.sql<{ id: string; agentUrl: string }[]>`
      select id, agent_url from servers where heartbeat_at > now() - make_interval(secs => ${STALE_AFTER_S})`;
    const own = rows.find((r) => r.id === this.serverId)?.agentUrl ?? this.urls[0]!;
    this.urls = [own, ...new Set(rows.filter((r) => r.id !== this.serverId).map((r) => r.agentUrl))];
  }

  /** this server first, then the others */
  agentUrls(): string[] {
    return this.urls;
  }

  async unregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sql`delete from servers where id = ${this.serverId}`.catch(() => {});
  }
}
