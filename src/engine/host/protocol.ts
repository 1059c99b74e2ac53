// The host protocol: what a host daemon (`emberplane host join`) and the control plane say to each
// other over the WebSocket at /host (docs/hosts.md). A host offers a machine: it launches, stops and
// reports the node agents the control plane places on it; the agents themselves then dial the
// control plane at /agent as they do on the server's own machine.
//
// Credentials follow the node agent's scheme (engine/agent/credential.js): the control plane sends a
// fresh challenge first; a host that has joined proves its key with helloProof(key, nonce, hostId)
// and the control plane answers with welcomeProof(key, nonce, hostId). A host without a key yet
// sends `join` with a host token (created by `createHostToken`); the answer carries the secret whose
// credentialKey() the host keeps (and nothing else of the control plane).
import type { InstanceHandle, InstanceLaunchSpec, LaunchedInstance } from '../types.js';
import type { InstanceSpec, InvokeOutcome, ProvisionState, ProvisionTarget, RunningInstance, RuntimeLogLine } from '../functions/types.js';

/** A log line on the wire (its time as an ISO string). */
export type WireLogLine = Omit<RuntimeLogLine, 'at'> & { at: string };

/** An invocation on the wire: the payload in base64. */
export interface WireInvokeRequest {
  requestId: string;
  payload: string;
  invokedFunctionArn: string;
  clientContext?: string;
}

/** An invocation's outcome on the wire (InvokeOutcome with its body in base64 and its times as ISO strings). */
export type WireOutcome = Omit<InvokeOutcome, 'body' | 'startedAt' | 'endedAt' | 'logs'> & {
  body: string;
  startedAt: string;
  endedAt: string;
  logs: WireLogLine[];
};

/** The reply to fn.invoke: the outcome, and whether its instance is idle again (else it is gone). */
export interface FunctionInvokeResult {
  outcome: WireOutcome;
  idle: boolean;
}

/** The reply to fn.provision and fn.reap: states per spec key, and every live function instance of the host. */
export interface FunctionInstancesResult {
  states?: Array<[string, ProvisionState]>;
  instances: RunningInstance[];
}

/** What a machine offers; placement never allocates beyond it (times the host's overcommit). */
export interface HostCapacity {
  vcpu: number;
  memoryMb: number;
  diskMb: number;
}

/**
 * Where this host's own install keeps what nodes need: the node config of a node placed on the host
 * uses these paths, never the server's (null / []: not installed there, e.g. no Spark).
 */
export interface HostInstallation {
  /** the emberplane version the daemon runs (a mismatch is refused with a clear message) */
  version: string;
  sparkHome: string | null;
  /** the python3 nodes run pyspark and .py bootstrap actions with */
  python: string | null;
  /** s3a's jars on this host */
  s3aJars: string[];
}

/** What the host knows of one node agent it launched. */
export interface HostInstanceReport {
  instanceId: string;
  pid: number | null;
  alive: boolean;
  /** processes of the node the kernel killed for memory */
  oomKills: number;
}

/** What the host tells about itself on every connection. */
export interface HostDescription {
  name: string;
  capacity: HostCapacity;
  labels: Record<string, string>;
  /** the address the host is reached at by the nodes of other hosts (Spark's workers and master) */
  address: string;
  installation: HostInstallation;
}

/** Messages a host daemon sends. */
export type HostMessage =
  | ({ type: 'join'; token: string } & HostDescription)
  | ({ type: 'hello'; hostId: string; proof: string; instances: HostInstanceReport[] } & HostDescription)
  | { type: 'heartbeat'; at: number; instances: HostInstanceReport[]; functions?: RunningInstance[] }
  /** lines the function instances wrote, as they write them */
  | { type: 'fn.lines'; functionId: string; lines: WireLogLine[] }
  /** the answer to a request (launch, stop, decommission; fn.invoke, fn.provision, fn.reap, fn.remove) */
  | { type: 'reply'; requestId: string; ok: true; result?: LaunchedInstance | FunctionInvokeResult | FunctionInstancesResult }
  | { type: 'reply'; requestId: string; ok: false; error: string };

/** Messages the control plane sends to a host daemon. */
export type HostControlMessage =
  | { type: 'challenge'; nonce: string }
  /** the host's identity, once: it keeps credentialKey(secret) (0600) and says hello with it from now on */
  | { type: 'joined'; hostId: string; secret: string }
  | { type: 'welcome'; hostId: string; proof: string; heartbeatMs: number }
  /** refused (bad token or proof, revoked host, version mismatch): the daemon says why and exits non-zero */
  | { type: 'error'; code: string; message: string }
  | { type: 'launch'; requestId: string; spec: InstanceLaunchSpec }
  | { type: 'stop'; requestId: string; instance: InstanceHandle; graceMs: number }
  | { type: 'decommission'; requestId: string; instance: InstanceHandle; waitMs: number }
  /**
   * Runs one invocation on the idle function instance `instanceId`, or on a new one (null, or it is
   * gone). The spec's packagePath is void here: the host fetches the package by its hash from
   * GET /host/code/<hash> with a codeProof of this session's challenge.
   */
  | { type: 'fn.invoke'; requestId: string; spec: InstanceSpec; instanceId: string | null; request: WireInvokeRequest }
  /** cut short a running invocation (the server stops): its instance is killed */
  | { type: 'fn.abort'; invocationId: string }
  /** the provisioned instances this host keeps (every other provisioned one becomes ordinary) */
  | { type: 'fn.provision'; requestId: string; targets: ProvisionTarget[] }
  /** stop instances idle for idleMs (all: every idle one, provisioned too: the host is draining) */
  | { type: 'fn.reap'; requestId: string; idleMs: number; all: boolean }
  /** a deleted function: its instances stopped, its code dropped */
  | { type: 'fn.remove'; requestId: string; functionId: string }
  /**
   * The node agents this host should be running (sent after every welcome and when the set shrinks):
   * the host stops any other it still runs, e.g. nodes that were replaced while it was LOST.
   */
  | {
      type: 'keep';
      instanceIds: string[];
      /** the function instances to keep (the control plane forgets a host's instances when its session ends: none) */
      functionInstanceIds?: string[];
    };

export const toWireLines = (lines: RuntimeLogLine[]): WireLogLine[] =>
  lines.map((l) => ({ stream: l.stream, text: l.text, at: l.at.toISOString() }));

/** Lines from a host: only the three streams, text as text, a time that parses (else now). */
export const fromWireLines = (lines: unknown): RuntimeLogLine[] =>
  (Array.isArray(lines) ? (lines as WireLogLine[]) : []).map((l) => {
    const at = new Date(l?.at);
    const stream = l?.stream === 'STDERR' || l?.stream === 'SYSTEM' ? l.stream : 'STDOUT';
    return { stream, text: String(l?.text ?? ''), at: Number.isNaN(at.getTime()) ? new Date() : at };
  });

export function toWireOutcome(o: InvokeOutcome): WireOutcome {
  return {
    ...o,
    body: o.body.toString('base64'),
    startedAt: o.startedAt.toISOString(),
    endedAt: o.endedAt.toISOString(),
    logs: toWireLines(o.logs),
  };
}

export function fromWireOutcome(w: WireOutcome): InvokeOutcome {
  return {
    ...w,
    body: Buffer.from(String(w.body), 'base64'),
    startedAt: new Date(w.startedAt),
    endedAt: new Date(w.endedAt),
    logs: fromWireLines(w.logs),
  };
}
