// The control plane's side of the host protocol (engine/host/protocol.ts) at /host: challenge, then
// join (a host token) or hello (the host's key), then welcome and the `keep` list; heartbeats with
// the host's reports, batched into one UPDATE a second; requests (launch, stop, decommission) with
// a requestId, answered by `reply`.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { codeProof, credentialKey, welcomeProof } from '../engine/agent/credential.js';
import type { RunningInstance, RuntimeLogLine } from '../engine/functions/types.js';
import { fromWireLines, type HostControlMessage, type HostInstanceReport, type HostMessage } from '../engine/host/protocol.js';
import { MAX_REPORTS, type HostService } from './service.js';
import { jsonFrame, pingOrTerminate, trackPongs } from '../platform/server/socket-frames.js';

const HELLO_TIMEOUT_MS = 10_000;
const MAX_MESSAGE_BYTES = 1024 * 1024;
const PING_INTERVAL_MS = 5_000;
const MAX_LINES_PER_MESSAGE = 1_000;
// Lambda's largest memory size: a report beyond it is not an instance this control plane placed
const MAX_FUNCTION_MEMORY_MB = 10_240;

type Request = Extract<HostControlMessage, { requestId: string }>;
/** a request as the caller gives it: the gateway numbers it */
export type HostRequest = Request extends infer R ? (R extends { requestId: string } ? Omit<R, 'requestId'> : never) : never;

/** The host did not answer: not connected, disconnected while the request ran, or silent past its timeout. */
export class HostUnreachable extends Error {}

/** what the gateway tells the function runtime of the sessions it holds */
export interface HostSessionListener {
  /** lines a host's function instances wrote */
  functionLines(hostId: string, functionId: string, lines: RuntimeLogLine[]): void;
  /** a session ended (its pending requests are rejected) */
  sessionClosed(hostId: string): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface HostSession {
  hostId: string;
  ws: WebSocket;
  pending: Map<string, Pending>;
  /** the session's challenge and the host's key: what its code proofs are made with */
  nonce: string;
  key: string;
}

/** A host's report of its function instances, as stored (and summed for allocation): well-formed entries only. */
function functionReports(reported: unknown): RunningInstance[] {
  if (!Array.isArray(reported)) return [];
  const str = (v: unknown) => String(v ?? '').slice(0, 200);
  return reported.slice(0, MAX_REPORTS).flatMap((r: Partial<RunningInstance> | null) =>
    r && Number.isSafeInteger(r.memoryMb) && (r.memoryMb as number) >= 0 && (r.memoryMb as number) <= MAX_FUNCTION_MEMORY_MB
      ? [
          {
            instanceId: str(r.instanceId),
            key: str(r.key),
            functionId: str(r.functionId),
            functionName: str(r.functionName),
            version: str(r.version),
            memoryMb: r.memoryMb as number,
            state: r.state === 'IDLE' || r.state === 'BUSY' ? r.state : 'INIT',
            provisioned: r.provisioned === true,
          },
        ]
      : [],
  );
}

export class HostGateway {
  private sessions = new Map<string, HostSession>();
  private beats = new Map<string, HostInstanceReport[]>();
  private timer: NodeJS.Timeout;
  private pingTimer: NodeJS.Timeout;
  private beatsOfFunctions = new Map<string, RunningInstance[]>();
  listener: HostSessionListener | null = null;

  constructor(
    private readonly hosts: HostService,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly heartbeatMs: number,
  ) {
    this.timer = setInterval(() => this.flushHeartbeats(), 1_000);
    this.timer.unref();
    this.pingTimer = setInterval(() => this.pingAll(), PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  /** whether the host's session is held by this server */
  holds(hostId: string): boolean {
    const session = this.sessions.get(hostId);
    return session !== undefined && session.ws.readyState === session.ws.OPEN;
  }

  /** Sends a request to a host connected here and waits for its reply (rejects after `timeoutMs` or when the session closes). */
  request<T = unknown>(hostId: string, message: HostRequest, timeoutMs: number): Promise<T> {
    const session = this.sessions.get(hostId);
    if (!session || session.ws.readyState !== session.ws.OPEN)
      return Promise.reject(new HostUnreachable(`host ${hostId} is not connected to this server`));
    const requestId = crypto.randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(requestId);
        reject(new HostUnreachable(`host ${hostId} did not answer ${message.type} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      session.pending.set(requestId, { resolve: resolve as (r: unknown) => void, reject, timer });
      session.ws.send(JSON.stringify({ ...message, requestId }));
    });
  }

  /** A message that wants no answer, to a host connected here (false: it is not). */
  send(hostId: string, message: HostControlMessage): boolean {
    const session = this.sessions.get(hostId);
    if (!session || session.ws.readyState !== session.ws.OPEN) return false;
    session.ws.send(JSON.stringify(message));
    return true;
  }

  /** Whether `proof` is the codeProof of `codeHash` for the session of `hostId` held here now. */
  codeProofValid(hostId: string, codeHash: string, proof: string): boolean {
    const session = this.sessions.get(hostId);
    if (!session || session.ws.readyState !== session.ws.OPEN) return false;
    const expected = Buffer.from(codeProof(session.key, session.nonce, codeHash));
    const presented = Buffer.from(proof);
    return expected.length === presented.length && crypto.timingSafeEqual(expected, presented);
  }

  accept(ws: WebSocket, remote: string): void {
    let session: HostSession | null = null;
    let chain: Promise<void> = Promise.resolve();
    const send = (m: HostControlMessage) => ws.send(JSON.stringify(m));
    const refuse = (code: string, message: string) => {
      this.log.warn({ remote, code, message }, 'host refused');
      send({ type: 'error', code, message });
      ws.close(4403, 'refused');
    };
    const helloTimer = setTimeout(() => {
      if (!session) ws.close(4408, 'hello timeout');
    }, HELLO_TIMEOUT_MS);
    const nonce = crypto.randomBytes(32).toString('base64url');
    send({ type: 'challenge', nonce });
    const welcome = async (hostId: string, key: string) => {
      clearTimeout(helloTimer);
      const previous = this.sessions.get(hostId);
      if (previous && previous.ws !== ws) {
        previous.ws.close(4409, 'replaced by a newer connection');
        // the host is told to stop its function instances below: forget them before anything is placed anew
        this.listener?.sessionClosed(hostId);
      }
      session = { hostId, ws, pending: new Map(), nonce, key };
      this.sessions.set(hostId, session);
      send({ type: 'welcome', hostId, proof: welcomeProof(key, nonce, hostId), heartbeatMs: this.heartbeatMs });
      // the function instances of an earlier session were forgotten when it ended: none is kept
      send({ type: 'keep', instanceIds: await this.hosts.keep(hostId), functionInstanceIds: [] });
      this.log.info({ hostId, remote }, 'host connected');
    };
    ws.on('message', (data, isBinary) => {
      const m = jsonFrame<HostMessage>(ws, data, isBinary, MAX_MESSAGE_BYTES);
      if (!m) return;
      if (session && m.type === 'heartbeat') {
        this.beats.set(session.hostId, Array.isArray(m.instances) ? m.instances.slice(0, MAX_REPORTS) : []);
        this.beatsOfFunctions.set(session.hostId, functionReports(m.functions));
        return;
      }
      if (session && m.type === 'fn.lines') {
        this.listener?.functionLines(session.hostId, String(m.functionId), fromWireLines(m.lines).slice(0, MAX_LINES_PER_MESSAGE));
        return;
      }
      if (session && m.type === 'reply') {
        const pending = session.pending.get(String(m.requestId));
        if (!pending) return;
        session.pending.delete(String(m.requestId));
        clearTimeout(pending.timer);
        if (m.ok) pending.resolve(m.result);
        else pending.reject(new Error(`host ${session.hostId}: ${String(m.error).slice(0, 2_000)}`));
        return;
      }
      chain = chain
        .then(async () => {
          if (session) return; // join/hello once per connection; anything else before one is refused below
          if (m.type === 'join') {
            const result = await this.hosts.join(String(m.token), m, this.serverId);
            if (!result.ok) return refuse(result.code, result.message);
            send({ type: 'joined', hostId: result.host.id, secret: result.secret });
            await welcome(result.host.id, credentialKey(result.secret));
          } else if (m.type === 'hello') {
            const result = await this.hosts.hello(String(m.hostId), nonce, String(m.proof), m, m.instances, this.serverId);
            if (!result.ok) return refuse(result.code, result.message);
            await welcome(result.host.id, this.hosts.keyOf(result.host));
          } else {
            ws.close(4401, 'join or hello first');
          }
        })
        .catch((err) => {
          this.log.error({ err }, 'host message not handled');
          ws.close(1011, 'not recorded; reconnect');
        });
    });
    trackPongs(ws);
    ws.on('close', () => {
      clearTimeout(helloTimer);
      const s = session as HostSession | null;
      if (!s) return;
      for (const p of s.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new HostUnreachable(`host ${s.hostId} disconnected`));
      }
      if (this.sessions.get(s.hostId) !== s) return;
      this.sessions.delete(s.hostId);
      this.listener?.sessionClosed(s.hostId);
      this.hosts.disconnected(s.hostId, this.serverId).catch((err) => this.log.warn({ err }, 'host disconnect not recorded'));
      this.log.info({ hostId: s.hostId }, 'host disconnected');
    });
    ws.on('error', (err) => this.log.warn({ err }, 'host socket error'));
  }

  /**
   * A host changed (any server): sessions held here of hosts that were revoked are told so and
   * closed; those of hosts marked LOST meanwhile are closed, so that their daemon says hello again
   * (READY, with a fresh `keep` list).
   */
  async recheck(): Promise<void> {
    for (const s of [...this.sessions.values()]) {
      const host = await this.hosts.get(s.hostId);
      if (host?.state === 'REVOKED') {
        s.ws.send(JSON.stringify({ type: 'error', code: 'REVOKED', message: `host ${s.hostId} was revoked` } satisfies HostControlMessage));
        s.ws.close(4403, 'revoked');
      } else if (host?.state === 'LOST') {
        // no closing handshake: a host marked LOST is silent, and a socket left CLOSING for the
        // handshake's timeout would still look held; a live daemon reconnects at once
        s.ws.terminate();
      }
    }
  }

  private pingAll(): void {
    for (const s of this.sessions.values()) {
      if (!pingOrTerminate(s.ws)) this.log.warn({ hostId: s.hostId }, 'host socket unresponsive; closed it');
    }
  }

  private flushHeartbeats(): void {
    if (this.beats.size === 0) return;
    const beats = [...this.beats].map(([id, reports]) => ({ id, reports, functions: this.beatsOfFunctions.get(id) ?? [] }));
    this.beats.clear();
    this.beatsOfFunctions.clear();
    this.hosts.heartbeats(beats).catch((err) => this.log.warn({ err }, 'host heartbeats not recorded'));
  }

  close(): void {
    clearInterval(this.timer);
    clearInterval(this.pingTimer);
    this.flushHeartbeats();
    for (const s of this.sessions.values()) s.ws.close(1001, 'server shutting down');
    this.sessions.clear();
  }
}
