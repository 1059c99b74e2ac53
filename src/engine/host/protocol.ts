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
  | { type: 'heartbeat'; at: number; instances: HostInstanceReport[] }
  /** the answer to a request (launch, stop, decommission) */
  | { type: 'reply'; requestId: string; ok: true; result?: LaunchedInstance }
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
   * The node agents this host should be running (sent after every welcome and when the set shrinks):
   * the host stops any other it still runs, e.g. nodes that were replaced while it was LOST.
   */
  | { type: 'keep'; instanceIds: string[] };
