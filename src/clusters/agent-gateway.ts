import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { jsonFrame, pingOrTerminate, trackPongs } from '../platform/server/socket-frames.js';
import type { StepRow } from './tables.js';
import { ENDED_STEP_STATES } from './tables.js';
import type { AgentLogLine, AgentMessage, ControlMessage, NodeEndpoints } from '../engine/types.js';
import type { InstanceService } from './instances.js';
import type { StepService } from './steps.js';
import type { LogService } from '../logs/service.js';
import type { MetricsService } from './metrics.js';
import type { NodeConfigService } from './node-config.js';
import type { Secrets } from '../platform/secrets.js';

export interface AgentSession {
  instanceId: string;
  clusterId: string;
  role: string;
  ws: WebSocket;
  /** the rows of this node's steps as sent or read here (stepId →), so log batches and exits need no lookup */
  steps: Map<string, StepRow>;
  /** log lines received and not yet handed to storage, per step */
  pendingLogs: Map<string, AgentLogLine[]>;
  /** the hash of the credential sent in this connection's welcome, until the agent confirms it */
  nextTokenHash: string | null;
}

const HELLO_TIMEOUT_MS = 10_000;
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const PING_INTERVAL_MS = 15_000;

/** The services it uses. */
export interface AgentGatewayServices {
  instances: InstanceService;
  steps: StepService;
  logs: LogService;
  metrics: MetricsService;
  nodes: NodeConfigService;
  secrets: Secrets;
}

/**
 * The control plane's side of the node agent protocol (docs/agent-protocol.md): turns agent reports
 * into service calls and carries commands to the agents connected to this server process.
 */
export class AgentGateway {
  private sessions = new Map<string, AgentSession>();
  private heartbeats = new Set<string>();
  private timer: NodeJS.Timeout;
  private pingTimer: NodeJS.Timeout;
  constructor(
    private readonly services: AgentGatewayServices,
    private readonly serverId: string,
    private readonly log: Logger,
    /** a cluster may have work for this server (a master joined, a step ended) */
    private readonly workFor: (clusterId: string) => void,
  ) {
    // heartbeats are batched into one UPDATE a second
    this.timer = setInterval(() => this.flushHeartbeats(), 1_000);
    this.timer.unref();
    this.pingTimer = setInterval(() => this.pingAll(), PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  get(instanceId: string): AgentSession | undefined {
    return this.sessions.get(instanceId);
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  send(instanceId: string, message: ControlMessage): boolean {
    const session = this.sessions.get(instanceId);
    if (!session || session.ws.readyState !== session.ws.OPEN) return false;
    session.ws.send(JSON.stringify(message));
    return true;
  }

  accept(ws: WebSocket, remote: string): void {
    let session: AgentSession | null = null;
    // one message at a time per agent: a step's exit is handled after its last log batch
    let chain: Promise<void> = Promise.resolve();
    const helloTimer = setTimeout(() => {
      if (!session) ws.close(4408, 'hello timeout');
    }, HELLO_TIMEOUT_MS);
    // the agent proves its key over this, so no hello can be replayed on another connection
    const nonce = crypto.randomBytes(32).toString('base64url');
    ws.send(JSON.stringify({ type: 'challenge', nonce } satisfies ControlMessage));
    // A report that could not be recorded (database unreachable, …) must not be lost: closing the
    // socket makes the agent reconnect and resend everything unacknowledged (handlers are idempotent).
    // Nothing after it is recorded either: a later batch stored and acknowledged would make the
    // agent forget the lines of the one that failed.
    let broken = false;
    const failed = (err: unknown, what: string) => {
      broken = true;
      this.log.error({ err, instanceId: session?.instanceId, what }, 'agent report not recorded; the agent will resend it');
      ws.close(1011, 'report not recorded; reconnect and resend');
    };
    ws.on('message', (data, isBinary) => {
      const message = jsonFrame<AgentMessage>(ws, data, isBinary, MAX_MESSAGE_BYTES);
      if (!message) return;
      // Liveness is recorded on arrival, not in turn: a queue of slow writes must not make a
      // healthy agent look silent.
      if (session) this.heartbeats.add(session.instanceId);
      if (message.type === 'heartbeat') return;
      if (message.type === 'metrics') {
        // buffered and rate-bounded by the metrics service; never queued behind step reports
        if (session) this.services.metrics.recordAgentReport(session.clusterId, session.instanceId, session.role, message);
        return;
      }
      if (message.type === 'log' && session) {
        if (!Array.isArray(message.lines)) return;
        // batches that pile up while a write runs are stored together, in one statement
        const s = session;
        const stepId = String(message.stepId);
        const queued = s.pendingLogs.get(stepId);
        if (queued) {
          queued.push(...message.lines);
          return;
        }
        s.pendingLogs.set(stepId, [...message.lines]);
        chain = chain.then(() => (broken ? undefined : this.flushLogs(s, stepId))).catch((err) => failed(err, 'log'));
        return;
      }
      chain = chain
        .then(async () => {
          if (broken) return;
          if (message.type === 'hello') {
            clearTimeout(helloTimer);
            // the session is known before the agent is welcomed: what it sends next is its own
            await this.hello(ws, message, nonce, remote, (s) => {
              session = s;
            });
          } else if (session) {
            await this.handle(session, message);
          } else {
            ws.close(4401, 'hello first');
          }
        })
        .catch((err) => failed(err, message.type));
    });
    trackPongs(ws);
    ws.on('close', () => {
      clearTimeout(helloTimer);
      const s = session;
      if (!s || this.sessions.get(s.instanceId) !== s) return;
      this.sessions.delete(s.instanceId);
      this.services.metrics.forget(s.instanceId);
      this.services.instances.disconnected(s.instanceId, this.serverId).catch((err) => this.log.warn({ err }, 'disconnect not recorded'));
      this.log.info({ instanceId: s.instanceId }, 'agent disconnected');
    });
    ws.on('error', (err) => this.log.warn({ err }, 'agent socket error'));
  }

  private async hello(
    ws: WebSocket,
    m: Extract<AgentMessage, { type: 'hello' }>,
    nonce: string,
    remote: string,
    bind: (session: AgentSession) => void,
  ): Promise<void> {
    const result = await this.services.instances.hello(
      String(m.instanceId),
      nonce,
      String(m.proof),
      Number(m.pid),
      String(m.host),
      this.serverId,
    );
    if (!result.ok) {
      this.log.warn({ instanceId: m.instanceId, remote, reason: result.reason }, 'agent refused');
      ws.send(JSON.stringify({ type: 'error', message: result.reason } satisfies ControlMessage));
      if (result.shutdown) ws.send(JSON.stringify({ type: 'shutdown', graceMs: 2_000 } satisfies ControlMessage));
      ws.close(4403, 'refused');
      return;
    }
    const { instance } = result;
    const previous = this.sessions.get(instance.id);
    if (previous && previous.ws !== ws) previous.ws.close(4409, 'replaced by a newer connection');
    const session: AgentSession = {
      instanceId: instance.id,
      clusterId: instance.clusterId,
      role: instance.role,
      ws,
      steps: new Map(),
      pendingLogs: new Map(),
      nextTokenHash: result.nextTokenHash,
    };
    this.sessions.set(instance.id, session);
    bind(session);
    const node = await this.services.nodes.forInstance(instance);
    ws.send(JSON.stringify({ type: 'welcome', node, proof: result.welcomeProof } satisfies ControlMessage));
    this.log.info({ instanceId: instance.id, pid: m.pid, remote }, 'agent connected');
    await this.reconcileSteps(session, result.steps, Array.isArray(m.steps) ? m.steps : []);
    this.workFor(instance.clusterId);
  }

  /** After a (re)connect: what the database expects of this agent vs what the agent reports. */
  private async reconcileSteps(session: AgentSession, expected: StepRow[], reported: Array<{ stepId: string }>): Promise<void> {
    const known = new Set(reported.map((s) => String(s.stepId)));
    for (const step of expected) {
      session.steps.set(step.id, step);
      if (known.has(step.id)) {
        if (step.state === 'CANCEL_PENDING') this.sendCancel(session.instanceId, step);
      } else if (step.state === 'CANCEL_PENDING') {
        // cancelled after it was claimed but before the agent ever got it: nothing to stop (the
        // steps claimed in its place go out now)
        const next = await this.services.steps.recordExit(
          step.id,
          session.instanceId,
          { exitCode: null, signal: null, neverStarted: true },
          step,
        );
        for (const claimed of next) this.sendRun(session.instanceId, claimed);
      } else {
        this.sendRun(session.instanceId, step); // claimed but never started
      }
    }
    // steps the agent still runs that the database has already ended (cancelled or failed meanwhile)
    const expectedIds = new Set(expected.map((s) => s.id));
    const others = [...known].filter((id) => !expectedIds.has(id));
    for (const id of others) {
      const step = await this.services.steps.get(id);
      if (!step || step.instanceId !== session.instanceId) continue;
      session.steps.set(step.id, step);
      if (ENDED_STEP_STATES.includes(step.state)) this.send(session.instanceId, { type: 'cancelStep', stepId: id, graceMs: 0 });
    }
  }

  /** Agent sockets that stopped answering pings are closed: their agent is reconnecting elsewhere. */
  private pingAll(): void {
    for (const s of this.sessions.values()) {
      if (!pingOrTerminate(s.ws)) this.log.warn({ instanceId: s.instanceId }, 'agent socket unresponsive; closed it');
    }
  }

  sendRun(instanceId: string, step: StepRow): boolean {
    const session = this.sessions.get(instanceId);
    session?.steps.set(step.id, step);
    return this.send(instanceId, {
      type: 'runStep',
      stepId: step.id,
      args: step.spec.args,
      env: this.services.secrets.openEnv(step.spec.env),
      mounts: step.spec.mounts ?? [],
      ...(step.spec.fetch?.length ? { fetch: step.spec.fetch } : {}),
    });
  }

  sendCancel(instanceId: string, step: StepRow): boolean {
    const graceMs = step.cancelOption === 'TERMINATE_PROCESS' ? 0 : 10_000;
    return this.send(instanceId, { type: 'cancelStep', stepId: step.id, graceMs });
  }

  private async streamOf(session: AgentSession, stepId: string): Promise<string | undefined> {
    let step = session.steps.get(stepId);
    if (!step) {
      step = await this.services.steps.get(stepId);
      if (!step || step.instanceId !== session.instanceId) return undefined;
      session.steps.set(stepId, step);
    }
    return step.logStreamId;
  }

  private async handle(session: AgentSession, m: AgentMessage): Promise<void> {
    const { services } = this;
    switch (m.type) {
      case 'ready':
        await services.instances.ready(session.instanceId, isPlainObject(m.endpoints) ? endpointsOf(m.endpoints) : {});
        this.workFor(session.clusterId);
        return;
      case 'bootstrapFailed': {
        const tail = Array.isArray(m.logTail) ? m.logTail.map(String).slice(-20).join('\n').slice(-4_000) : '';
        const exit = m.exitCode === null || m.exitCode === undefined ? 'could not run' : `exit code ${Number(m.exitCode)}`;
        await services.instances.bootstrapFailed(
          session.instanceId,
          `bootstrap action "${String(m.action).slice(0, 256)}" failed (${exit})${tail ? `; its last output:\n${tail}` : ''}`,
        );
        this.send(session.instanceId, { type: 'shutdown', graceMs: 0 });
        return;
      }
      case 'tokenReceived':
        if (session.nextTokenHash) await services.instances.confirmToken(session.instanceId, session.nextTokenHash);
        session.nextTokenHash = null;
        return;
      case 'stepStarted':
        await services.steps.recordStarted(String(m.stepId), session.instanceId, Number(m.pid));
        return;
      case 'progress':
        if (typeof m.value === 'number' && Number.isFinite(m.value))
          await services.steps.recordProgress(String(m.stepId), session.instanceId, m.value);
        return;
      case 'stepResult':
        if (isPlainObject(m.result)) await services.steps.recordResult(String(m.stepId), session.instanceId, m.result);
        return;
      case 'stepExited': {
        // every line the step printed is stored before its exit is: otherwise the agent resends
        const lastSeq = Number(m.lastSeq ?? 0);
        const streamId = lastSeq > 0 ? await this.streamOf(session, String(m.stepId)) : undefined;
        if (streamId && (await services.logs.agentSeq(streamId)) < lastSeq) {
          throw new Error(`exit of ${m.stepId} reported before its log lines up to ${m.lastSeq} were stored`);
        }
        const next = await services.steps.recordExit(
          String(m.stepId),
          session.instanceId,
          {
            exitCode: m.exitCode ?? null,
            signal: m.signal ?? null,
            result: isPlainObject(m.result) ? m.result : null,
            lostLines: Number.isSafeInteger(m.lostLines) && Number(m.lostLines) > 0 ? Number(m.lostLines) : 0,
          },
          session.steps.get(String(m.stepId)),
        );
        session.steps.delete(m.stepId);
        this.send(session.instanceId, { type: 'ackExit', stepId: m.stepId });
        for (const step of next) this.sendRun(session.instanceId, step);
        return;
      }
      case 'hello':
      case 'heartbeat':
      case 'metrics':
      case 'log':
        return; // handled on arrival (see accept)
    }
  }

  private async flushLogs(session: AgentSession, stepId: string): Promise<void> {
    const lines = session.pendingLogs.get(stepId) ?? [];
    session.pendingLogs.delete(stepId);
    const streamId = await this.streamOf(session, stepId);
    if (!streamId || lines.length === 0) return;
    const seq = await this.services.logs.appendFromAgent(streamId, lines);
    this.send(session.instanceId, { type: 'ackLogs', stepId, seq });
  }

  private flushHeartbeats(): void {
    if (this.heartbeats.size === 0) return;
    const ids = [...this.heartbeats];
    this.heartbeats.clear();
    this.services.instances.heartbeats(ids).catch((err) => this.log.warn({ err }, 'heartbeats not recorded'));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pingTimer);
    this.flushHeartbeats();
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map((s) => this.services.instances.disconnected(s.instanceId, this.serverId)));
    for (const s of sessions) s.ws.close(1001, 'server shutting down');
  }
}

/** Only the known endpoint names, only strings. */
function endpointsOf(raw: Record<string, unknown>): NodeEndpoints {
  const out: NodeEndpoints = {};
  for (const k of ['sparkMasterUrl', 'sparkMasterWebUrl', 'sparkWorkerWebUrl', 'sparkHistoryUrl'] as const) {
    if (typeof raw[k] === 'string' && raw[k].length <= 1024) out[k] = raw[k];
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
