// Function instances across hosts (docs/hosts.md "Functions on hosts"), as driver.ts is for nodes:
// an invocation goes to an idle warm instance of its spec (this server's own, or one on a joined
// host), else a new instance is placed on the host with the most free memory (capacity ×
// overcommit − its nodes − its function instances); READY hosts only. Provisioned instances are
// assigned to hosts the same way and re-assigned when a host goes. What runs where is known from
// the hosts' replies: the server picks the instance each invocation runs on, so it never guesses.
//
// Only hosts whose session this server holds take its instances: an invocation's payload (up to
// 6 MB), its reply and its log lines cannot travel through the relay (NOTIFY carries 8000 bytes).
// A host's instances live as long as the session that placed them: when it ends (LOST, link cut,
// daemon restart) its in-flight invocations fail with Runtime.HostLost, the server forgets its
// instances, and the host is told at its next hello to stop them.
import type { Logger } from 'pino';
import type { LocalFunctionRuntime } from '../engine/functions/local-runtime.js';
import {
  NoRoomError,
  specKey,
  type FunctionRuntime,
  type InstanceSpec,
  type InvokeOutcome,
  type InvokeRequest,
  type LineSink,
  type ProvisionState,
  type ProvisionTarget,
  type RunningInstance,
  type RuntimeLogLine,
} from '../engine/functions/types.js';
import { fromWireOutcome, type FunctionInstancesResult, type FunctionInvokeResult } from '../engine/host/protocol.js';
import type { Sql } from '../platform/db/client.js';
import { HostUnreachable, type HostGateway, type HostRequest, type HostSessionListener } from './gateway.js';
import { nodeAllocations, type Resources } from './placement.js';
import type { HostRow } from './tables.js';

// beyond the function's timeout, what a remote invocation may take: its init (10 s at most), the
// code package's download, the wire
const INVOKE_SLACK_MS = 40_000;
const CONTROL_TIMEOUT_MS = 60_000;

interface Placed {
  key: string;
  functionId: string;
  memoryMb: number;
  /** INIT: provisioned, not ready yet; BUSY: an invocation was sent to it */
  state: RunningInstance['state'];
  provisioned: boolean;
}

/** What this server placed on one joined host in its current session. */
class Session {
  readonly instances = new Map<string, Placed>();
  /** functions sent to the host: the only ones whose log lines it may write */
  readonly functions = new Set<string>();
}

export class HostsFunctionRuntime implements FunctionRuntime, HostSessionListener {
  private rows = new Map<string, HostRow>();
  private refreshes = 0;
  private latest: Promise<void> = Promise.resolve();
  private loaded: Promise<void> | null = null;
  private sessions = new Map<string, Session>();
  /** memory of cold starts under way, per host (reserved when the host is chosen) */
  private starting = new Map<string, number>();
  /** cold starts under way, per function (counted busy) */
  private coldStarts = new Map<string, number>();
  /** provisioned instances per spec key: how many each host keeps */
  private assigned = new Map<string, Map<string, number>>();
  /** a host's session ended or it stopped taking work: the function controller re-provisions */
  onHostGone: () => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly local: LocalFunctionRuntime,
    /** this server's own host (null: EMBEDDED_HOST=off, its local runtime takes no instances) */
    private readonly embeddedHostId: string | null,
    private readonly gateway: HostGateway,
    private readonly sink: LineSink,
    /** the S3 endpoint instances on joined hosts reach (the server's address as hosts dial it) */
    private readonly remoteS3Url: () => string,
    private readonly log: Logger,
  ) {}

  // ---- hosts ----

  /** Reads the hosts again (a host changed, a cold start, every controller pass); a host no longer READY keeps no provisioned share. */
  refresh(): Promise<void> {
    const seq = ++this.refreshes;
    const read = this.sql<HostRow[]>`select * from hosts`.then((rows): Promise<void> | undefined => {
      // reads overlap: only the last one started (the freshest) is kept, and the others wait for it
      if (seq !== this.refreshes) return this.latest;
      this.rows = new Map(rows.map((r) => [r.id, r]));
      for (const hostId of this.sessions.keys()) {
        if (this.rows.get(hostId)?.state !== 'READY') this.unassign(hostId);
      }
    });
    this.latest = read;
    return read;
  }

  /** A host changed (any server's NOTIFY): read them again, and stop the idle instances of those no longer READY at once. */
  hostsChanged(): void {
    this.refresh()
      .then(() => this.reapHosts(0, true))
      .catch((err) => this.log.warn({ err }, 'function instances of changed hosts not reconciled'));
  }

  private ready(): Promise<void> {
    this.loaded ??= this.refresh();
    return this.loaded;
  }

  /** hosts taking new instances: READY, and this server's own or a joined one whose session it holds */
  private usable(): HostRow[] {
    return [...this.rows.values()].filter((h) => this.isUsable(h));
  }

  private isUsable(h: HostRow | undefined): boolean {
    return h?.state === 'READY' && (h.embedded ? h.id === this.embeddedHostId : this.gateway.holds(h.id));
  }

  private isLocal(hostId: string): boolean {
    return hostId === this.embeddedHostId;
  }

  private session(hostId: string): Session {
    let s = this.sessions.get(hostId);
    if (!s) {
      s = new Session();
      this.sessions.set(hostId, s);
    }
    return s;
  }

  /** Memory the function instances take on a host (with the cold starts under way). */
  private functionMemory(hostId: string): number {
    const placed = this.isLocal(hostId)
      ? this.local.instances().reduce((sum, i) => sum + i.memoryMb, 0)
      : [...(this.sessions.get(hostId)?.instances.values() ?? [])].reduce((sum, i) => sum + i.memoryMb, 0);
    return placed + (this.starting.get(hostId) ?? 0);
  }

  private free(h: HostRow, nodes: Map<string, Resources>, planned = 0): number {
    return h.memoryMb * h.overcommit - (nodes.get(h.id)?.memoryMb ?? 0) - this.functionMemory(h.id) - planned;
  }

  /** Why no host took a new instance of `spec`. */
  private noRoom(spec: InstanceSpec, usable: number): NoRoomError {
    const elsewhere = [...this.rows.values()].filter(
      (h) => h.state === 'READY' && !h.embedded && h.connectedServer !== null && !this.gateway.holds(h.id),
    ).length;
    const others = elsewhere
      ? `; ${elsewhere} READY host(s) connected to other servers take none of this server's instances (invocations do not go through the host relay)`
      : '';
    return new NoRoomError(
      `no host has room for a ${spec.memoryMb} MiB instance of ${spec.functionName} (${usable} READY host(s) connected to this server${others})`,
    );
  }

  // ---- invocations ----

  async prepareCode(functionId: string, codeHash: string, packagePath: string): Promise<void> {
    // unpacked here whatever runs the instances: a package that can't be unpacked fails the function
    await this.local.prepareCode(functionId, codeHash, packagePath);
  }

  async invoke(spec: InstanceSpec, request: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome> {
    await this.ready();
    // a warm invoke here looks at no other host (and makes no list of them)
    if (this.embeddedHostId && this.local.hasIdle(spec) && this.isUsable(this.rows.get(this.embeddedHostId))) {
      return this.local.invoke(spec, request, signal);
    }
    const key = specKey(spec);
    const usable = this.usable();
    // an idle instance on the joined host running the fewest invocations: the load spreads
    let warm: { h: HostRow; instanceId: string; placed: Placed; busy: number } | null = null;
    for (const h of usable) {
      const instances = this.sessions.get(h.id)?.instances;
      if (this.isLocal(h.id) || !instances) continue;
      const idle = [...instances].find(([, p]) => p.key === key && p.state === 'IDLE');
      if (!idle) continue;
      const busy = [...instances.values()].filter((p) => p.state === 'BUSY').length;
      if (!warm || busy < warm.busy) warm = { h, instanceId: idle[0], placed: idle[1], busy };
    }
    if (warm) {
      warm.placed.state = 'BUSY';
      return this.invokeOn(warm.h, warm.instanceId, spec, request, signal);
    }
    // a new instance goes by the hosts as they are now (one drained a moment ago takes none)
    const [nodes] = await Promise.all([nodeAllocations(this.sql), this.refresh()]);
    // from here to the reservation nothing awaits: concurrent cold starts see each other's
    const fits = this.usable()
      .map((h) => ({ h, free: this.free(h, nodes) }))
      .filter((c) => c.free >= spec.memoryMb);
    if (fits.length === 0) throw this.noRoom(spec, usable.length);
    const { h } = fits.reduce((best, c) => (c.free > best.free ? c : best));
    this.starting.set(h.id, (this.starting.get(h.id) ?? 0) + spec.memoryMb);
    this.coldStarts.set(spec.functionId, (this.coldStarts.get(spec.functionId) ?? 0) + 1);
    try {
      if (this.isLocal(h.id)) return await this.local.invoke(spec, request, signal);
      return await this.invokeOn(h, null, spec, request, signal);
    } finally {
      this.starting.set(h.id, (this.starting.get(h.id) ?? 0) - spec.memoryMb);
      this.coldStarts.set(spec.functionId, (this.coldStarts.get(spec.functionId) ?? 0) - 1);
    }
  }

  /** the spec as a joined host runs it: its S3 endpoint one the host reaches, its package and layers fetched by hash */
  private remoteSpec(spec: InstanceSpec): InstanceSpec {
    return {
      ...spec,
      packagePath: '',
      layers: spec.layers.map((l) => ({ hash: l.hash, packagePath: '' })),
      s3: { ...spec.s3, endpointUrl: this.remoteS3Url() },
    };
  }

  /** One invocation on a joined host: on `instanceId` (warm) or a new instance (null). */
  private async invokeOn(
    host: HostRow,
    instanceId: string | null,
    spec: InstanceSpec,
    request: InvokeRequest,
    signal?: AbortSignal,
  ): Promise<InvokeOutcome> {
    const session = this.session(host.id);
    session.functions.add(spec.functionId);
    const startedAt = new Date();
    const abort = () => this.gateway.send(host.id, { type: 'fn.abort', invocationId: request.requestId });
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
    try {
      const result = await this.gateway.request<FunctionInvokeResult>(
        host.id,
        {
          type: 'fn.invoke',
          spec: this.remoteSpec(spec),
          instanceId,
          request: {
            requestId: request.requestId,
            payload: request.payload.toString('base64'),
            invokedFunctionArn: request.invokedFunctionArn,
            ...(request.clientContext !== undefined ? { clientContext: request.clientContext } : {}),
          },
        },
        spec.timeoutSeconds * 1_000 + INVOKE_SLACK_MS,
      );
      const outcome = fromWireOutcome(result.outcome);
      if (instanceId !== null && instanceId !== outcome.instanceId) session.instances.delete(instanceId);
      if (result.idle) {
        session.instances.set(outcome.instanceId, {
          key: specKey(spec),
          functionId: spec.functionId,
          memoryMb: spec.memoryMb,
          state: 'IDLE',
          provisioned: session.instances.get(outcome.instanceId)?.provisioned ?? false,
        });
      } else {
        session.instances.delete(outcome.instanceId);
      }
      return outcome;
    } catch (err) {
      if (instanceId !== null) session.instances.delete(instanceId);
      return hostFailure(host, err as Error, instanceId, startedAt);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  // ---- provisioned concurrency ----

  async provision(targets: ProvisionTarget[]): Promise<Map<string, ProvisionState>> {
    await this.ready();
    const usable = this.usable();
    const nodes = await nodeAllocations(this.sql);
    const wanted = new Set(targets.map((t) => specKey(t.spec)));
    for (const key of this.assigned.keys()) if (!wanted.has(key)) this.assigned.delete(key);
    const planned = new Map<string, number>();
    for (const t of targets) {
      const key = specKey(t.spec);
      const per = this.assigned.get(key) ?? new Map<string, number>();
      this.assigned.set(key, per);
      for (const hostId of per.keys()) if (!usable.some((h) => h.id === hostId)) per.delete(hostId);
      let total = [...per.values()].reduce((a, b) => a + b, 0);
      while (total > t.count) {
        const [most] = [...per].sort((a, b) => b[1] - a[1]);
        if (most![1] <= 1) per.delete(most![0]);
        else per.set(most![0], most![1] - 1);
        total--;
      }
      for (; total < t.count; total++) {
        // the host with the most room once what is planned this pass is counted (instances not running yet)
        const room = usable.map((h) => ({ h, free: this.free(h, nodes, planned.get(h.id) ?? 0) })).filter((c) => c.free >= t.spec.memoryMb);
        if (room.length === 0) break;
        const { h } = room.reduce((best, c) => (c.free > best.free ? c : best));
        per.set(h.id, (per.get(h.id) ?? 0) + 1);
        planned.set(h.id, (planned.get(h.id) ?? 0) + t.spec.memoryMb);
      }
    }
    const targetsOn = (hostId: string, remote: boolean): ProvisionTarget[] =>
      targets.flatMap((t) => {
        const count = this.assigned.get(specKey(t.spec))?.get(hostId) ?? 0;
        return count > 0 ? [{ ...t, spec: remote ? this.remoteSpec(t.spec) : t.spec, count }] : [];
      });
    const results: Array<Map<string, ProvisionState>> = [];
    results.push(await this.local.provision(this.embeddedHostId ? targetsOn(this.embeddedHostId, false) : []));
    const remote = [...this.rows.values()].filter((h) => !h.embedded && this.gateway.holds(h.id));
    await Promise.all(
      remote.map(async (h) => {
        const mine = targetsOn(h.id, true);
        const session = this.session(h.id);
        // nothing to keep there, and nothing kept before: no message
        if (mine.length === 0 && ![...session.instances.values()].some((i) => i.provisioned)) return;
        for (const t of mine) session.functions.add(t.spec.functionId);
        const reply = await this.control(h, { type: 'fn.provision', targets: mine });
        if (reply) results.push(new Map(reply.states ?? []));
      }),
    );
    const states = new Map<string, ProvisionState>();
    for (const key of wanted) {
      const all = results.map((r) => r.get(key)).filter((s): s is ProvisionState => s !== undefined);
      states.set(key, {
        ready: all.reduce((s, x) => s + x.ready, 0),
        starting: all.reduce((s, x) => s + x.starting, 0),
        failure: all.find((x) => x.failure)?.failure ?? null,
      });
    }
    return states;
  }

  /** A request that answers with the host's instances (fn.provision, fn.reap): what runs there is learnt from it. */
  private async control(host: HostRow, message: HostRequest): Promise<FunctionInstancesResult | null> {
    const session = this.session(host.id);
    try {
      const reply = await this.gateway.request<FunctionInstancesResult>(host.id, message, CONTROL_TIMEOUT_MS);
      if (this.sessions.get(host.id) === session) this.learn(session, reply.instances ?? []);
      return reply;
    } catch (err) {
      // a session that ends meanwhile is forgotten with its instances: nothing to reconcile
      if (!(err instanceof HostUnreachable))
        this.log.warn({ err, hostId: host.id, request: message.type }, 'function instances of a host not reconciled');
      return null;
    }
  }

  /**
   * What the host says runs there. Messages of a session arrive in order, so an instance it no
   * longer lists is gone, and a provisioned one it lists that this server does not know yet is new
   * (INIT) or ready (IDLE); what this server sent an invocation to stays BUSY until that invocation's reply.
   */
  private learn(session: Session, reported: RunningInstance[]): void {
    const byId = new Map(reported.map((r) => [r.instanceId, r]));
    for (const [id, placed] of session.instances) {
      const r = byId.get(id);
      if (!r) {
        session.instances.delete(id);
        continue;
      }
      placed.provisioned = r.provisioned;
      if (placed.state === 'INIT' && r.state === 'IDLE') placed.state = 'IDLE';
    }
    for (const r of reported) {
      // an unknown instance that is not provisioned is a cold start whose reply is on its way (its
      // memory is counted with the cold starts until then)
      if (session.instances.has(r.instanceId) || r.state === 'BUSY' || r.provisioned !== true) continue;
      session.instances.set(r.instanceId, {
        key: r.key,
        functionId: r.functionId,
        memoryMb: Number(r.memoryMb) || 0,
        state: r.state === 'IDLE' ? 'IDLE' : 'INIT',
        provisioned: r.provisioned === true,
      });
    }
  }

  // ---- stopping ----

  async reap(idleMs: number, keep?: (functionId: string, revisionId: string) => boolean): Promise<void> {
    await this.refresh();
    const embedded = this.embeddedHostId ? this.rows.get(this.embeddedHostId) : undefined;
    // a draining host keeps no idle instance (its provisioned ones are placed elsewhere)
    if (embedded?.state === 'DRAINING') await this.local.reap(0, () => false);
    else await this.local.reap(idleMs, keep);
    await this.reapHosts(idleMs, false);
  }

  /** fn.reap on the joined hosts held here (drainingOnly: those DRAINING, every idle instance). */
  private async reapHosts(idleMs: number, drainingOnly: boolean): Promise<void> {
    const held = [...this.rows.values()].filter((h) => !h.embedded && this.gateway.holds(h.id));
    await Promise.all(
      held.map((h) => {
        const draining = h.state !== 'READY';
        if (drainingOnly && !draining) return null;
        return this.control(h, { type: 'fn.reap', idleMs, all: draining });
      }),
    );
  }

  async removeFunction(functionId: string): Promise<void> {
    await this.local.removeFunction(functionId);
    const held = [...this.rows.values()].filter((h) => !h.embedded && this.gateway.holds(h.id));
    await Promise.all(
      held.map(async (h) => {
        const session = this.sessions.get(h.id);
        if (!session?.functions.has(functionId)) return;
        for (const [id, placed] of session.instances) if (placed.functionId === functionId) session.instances.delete(id);
        await this.gateway
          .request(h.id, { type: 'fn.remove', functionId }, CONTROL_TIMEOUT_MS)
          .catch((err) => this.log.warn({ err, hostId: h.id, functionId }, "a deleted function's instances on a host not stopped"));
      }),
    );
  }

  counts(functionId: string): { busy: number; total: number } {
    const here = this.local.counts(functionId);
    let busy = here.busy;
    let total = here.total;
    for (const session of this.sessions.values()) {
      for (const placed of session.instances.values()) {
        if (placed.functionId !== functionId) continue;
        total++;
        if (placed.state !== 'IDLE') busy++;
      }
    }
    const cold = this.coldStarts.get(functionId) ?? 0;
    return { busy: busy + cold, total: total + cold };
  }

  /** this server's own instances, as its embedded host reports them */
  localInstances(): RunningInstance[] {
    return this.embeddedHostId ? this.local.instances() : [];
  }

  async close(): Promise<void> {
    await this.local.close();
  }

  // ---- sessions (HostSessionListener) ----

  functionLines(hostId: string, functionId: string, lines: RuntimeLogLine[]): void {
    // a host writes only to the logs of functions it was given
    if (this.sessions.get(hostId)?.functions.has(functionId)) this.sink(functionId, lines);
  }

  sessionClosed(hostId: string): void {
    this.sessions.delete(hostId);
    this.unassign(hostId);
  }

  /** The host takes no provisioned instances any more: they are assigned elsewhere at once. */
  private unassign(hostId: string): void {
    let had = false;
    for (const per of this.assigned.values()) had = per.delete(hostId) || had;
    if (had) this.onHostGone();
  }
}

/** The outcome of an invocation whose host failed it: the platform's failure, said as such. */
function hostFailure(host: HostRow, err: Error, instanceId: string | null, startedAt: Date): InvokeOutcome {
  const lost = err instanceof HostUnreachable;
  const errorType = lost ? 'Runtime.HostLost' : 'Runtime.HostError';
  const errorMessage = lost
    ? `host ${host.name} (${host.id}) was lost during the invocation (${err.message}): it may have run in part`
    : `host ${host.name} (${host.id}) could not run the invocation: ${err.message}`;
  const endedAt = new Date();
  return {
    kind: 'EXIT',
    body: Buffer.from(JSON.stringify({ errorMessage, errorType })),
    errorType,
    errorKind: null,
    instanceId: instanceId ?? '',
    coldStart: instanceId === null,
    initDurationMs: null,
    durationMs: endedAt.getTime() - startedAt.getTime(),
    maxMemoryUsedMb: 0,
    startedAt,
    endedAt,
    logs: [{ at: endedAt, stream: 'SYSTEM', text: errorMessage }],
  };
}
