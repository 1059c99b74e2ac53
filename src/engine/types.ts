// The engine boundary: everything that touches OS processes sits behind these types, so another
// driver (remote hosts, Kubernetes) can replace the local one. The engine never writes the database.

export type AgentStream = 'STDOUT' | 'STDERR' | 'SYSTEM';

export interface AgentLogLine {
  seq: number;
  at: number; // epoch ms
  stream: AgentStream;
  text: string;
}

export interface AgentStepReport {
  stepId: string;
  pid: number | null;
  state: 'running' | 'exited';
  lastSeq: number;
  exitCode?: number | null;
  signal?: string | null;
}

/** Addresses a node serves once it is ready (stored on the instance; the master's also on the cluster). */
export interface NodeEndpoints {
  sparkMasterUrl?: string;
  sparkMasterWebUrl?: string;
  sparkWorkerWebUrl?: string;
  /** the Spark History Server of the cluster (MASTER node, when the catalog's event logs are on) */
  sparkHistoryUrl?: string;
}

/** What a node is and does, sent with `welcome` (docs/agent-protocol.md "Node configuration"). */
/** A path a step's sandbox sees (at the same place) beside the node's own directory: read-only or writable. */
export interface StepMount {
  type: 'ro-bind' | 'bind';
  source: string;
  target: string;
}

/** An object a node fetches over the S3 endpoint for a step: `path` is relative to the step's directory. */
export interface StepFetch {
  uri: string;
  path: string;
}

export interface NodeConfig {
  role: 'MASTER' | 'CORE' | 'TASK';
  applications: string[];
  vcpu: number;
  memoryMb: number;
  /** the absolute python3 the control plane resolved (runs .py bootstrap actions), if any */
  python: string | null;
  /**
   * run in order before anything else; `path` is a local file the control plane resolved from `uri`
   * (s3://) when the node shares its disk, null on a joined host: the agent fetches `uri` through
   * the S3 endpoint with the node's credential (`s3`)
   */
  bootstrapActions: Array<{ name: string; uri: string; path: string | null; args: string[] }>;
  /** how the node takes part in the cluster's Spark (null: not a SPARK cluster) */
  spark: {
    home: string;
    python: string;
    /**
     * the address of the node's host (its `address`: a joined host's --address, the embedded
     * host's HOST; loopback when that is a wildcard): the node's Spark daemons, drivers and web UIs
     * bind it and advertise it, so that nodes on other hosts reach them
     */
    address: string;
    /** the master's URLs (known before CORE/TASK nodes are launched; null on the MASTER) */
    masterUrl: string | null;
    masterWebUrl: string | null;
    /** a shrinking worker drains this long at most before it is stopped */
    decommissionTimeoutMs: number;
    /**
     * where objects live, bound into every worker's sandbox: its executors read and write what the
     * driver's app names there (null: no object path mapping, objects are reached over S3 only)
     */
    bucketsDir: string | null;
    /** s3a's jars (hadoop-aws and the AWS SDK bundle), put on drivers' and executors' class paths ([]: not installed) */
    s3aJars: string[];
    /**
     * the install's Hive metastore (in Postgres, through this role's credentials only) and the
     * warehouse and event log locations of their buckets (`file:<local dir>`, bound into the node's
     * sandboxes, or `s3a://<bucket>/` without the path mapping); null: Spark's defaults (a
     * metastore and warehouse in the step's directory, no event logs)
     */
    catalog: {
      jdbcUrl: string;
      user: string;
      password: string;
      jdbcJar: string;
      warehouse: string;
      eventLog: string;
    } | null;
  } | null;
  metricsMs: number;
  /**
   * the cluster's own S3 credential (docs/security.md "Cluster credentials") and the endpoint to
   * use it at: every process of the node gets it as the AWS SDKs' variables, Spark's s3a as its
   * settings (null: the cluster has none)
   */
  s3: NodeS3 | null;
}

/** Where and how a node reaches buckets over S3. */
export interface NodeS3 {
  /** http://host:port of the control plane the agent dialled (path-style addressing) */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A node's figures, every AGENT_METRICS_MS; `spark` only from the MASTER of a SPARK cluster. */
export interface AgentMetrics {
  at: number;
  node: { cpuPercent: number; rssMb: number };
  spark?: {
    aliveWorkers: number;
    coresTotal: number;
    coresUsed: number;
    memoryTotalMb: number;
    memoryUsedMb: number;
    appsRunning: number;
    appsWaiting: number;
    appsCompleted: number;
  };
}

/** Messages a node agent sends (see docs/agent-protocol.md). */
export type AgentMessage =
  /** `proof`: helloProof(key, challenge nonce, instanceId) (credential.js) */
  | { type: 'hello'; instanceId: string; proof: string; pid: number; host: string; steps: AgentStepReport[] }
  | { type: 'ready'; endpoints?: NodeEndpoints }
  | { type: 'bootstrapFailed'; action: string; exitCode: number | null; logTail: string[] }
  | ({ type: 'metrics' } & AgentMetrics)
  | { type: 'heartbeat'; at: number }
  /** the agent holds the credential of the last welcome (its older one is void from now on) */
  | { type: 'tokenReceived' }
  | { type: 'stepStarted'; stepId: string; pid: number; at: number }
  | { type: 'log'; stepId: string; lines: AgentLogLine[] }
  | { type: 'progress'; stepId: string; value: number }
  /** a `::result` printed while the step runs (the last one also travels with stepExited) */
  | { type: 'stepResult'; stepId: string; result: Record<string, unknown> }
  | {
      type: 'stepExited';
      stepId: string;
      exitCode: number | null;
      signal: string | null;
      at: number;
      lastSeq: number;
      result?: Record<string, unknown> | null;
      lostLines?: number;
    };

/** In a runStep's args: the node's own node binary, and the prefix of a path below its engine directory (the agent resolves them). */
export { STEP_ARG_ENGINE, STEP_ARG_NODE, STEP_ARG_PYTHON } from './agent/step-args.js';

/** Messages the control plane sends to a node agent. */
export type ControlMessage =
  /** the first message of every connection: the agent answers with a hello proving its key over `nonce` */
  | { type: 'challenge'; nonce: string }
  /** `proof`: welcomeProof(key, nonce, instanceId); the agent's next key is nextCredentialKey(key, nonce) (credential.js) */
  | { type: 'welcome'; node?: NodeConfig; proof: string }
  | { type: 'error'; message: string }
  /**
   * `args` may name the agent's own install instead of the server's paths (the node may be on
   * another host): an argument equal to STEP_ARG_NODE is the agent's node binary, one starting with
   * STEP_ARG_ENGINE + '/' a file below the agent's engine directory (e.g. `{{engine}}/agent/spark-step.js`).
   * `fetch`: objects the agent downloads through the S3 endpoint (the node's credential) into the
   * step's own directory at `path` (relative) before it starts; a failed fetch fails the step.
   */
  | {
      type: 'runStep';
      stepId: string;
      args: string[];
      env: Record<string, string>;
      mounts?: StepMount[];
      fetch?: StepFetch[];
    }
  | { type: 'cancelStep'; stepId: string; graceMs: number }
  | { type: 'ackLogs'; stepId: string; seq: number }
  | { type: 'ackExit'; stepId: string }
  | { type: 'shutdown'; graceMs: number };

export interface InstanceLaunchSpec {
  instanceId: string;
  clusterId: string;
  role: 'MASTER' | 'CORE' | 'TASK';
  vcpu: number;
  memoryMb: number;
  token: string;
  controlPlaneUrls: string[];
  /** the host the instance was placed on (a driver spanning hosts routes by it; a host's own driver ignores it) */
  hostId?: string | null;
}

export interface LaunchedInstance {
  pid: number;
  host: string;
  workdir: string;
}

export interface InstanceHandle {
  instanceId: string;
  pid: number | null;
  host: string | null;
  /** the host the instance was placed on (see InstanceLaunchSpec.hostId) */
  hostId?: string | null;
}

/** Starts and stops node agents. The local driver runs them as processes on this host. */
export interface EngineDriver {
  readonly host: string;
  launch(spec: InstanceLaunchSpec): Promise<LaunchedInstance>;
  /** SIGTERM the agent (it stops its steps and exits), SIGKILL its process group after graceMs. */
  stop(instance: InstanceHandle, graceMs: number): Promise<void>;
  /**
   * Graceful removal: the node stops taking work and its agent exits once running work drained (or
   * its decommission timeout passed). Resolves when the agent is gone or after `waitMs`.
   */
  decommission(instance: InstanceHandle, waitMs: number): Promise<void>;
  /** true/false when this driver can tell (the instance runs on its host), undefined otherwise. */
  isAlive(instance: InstanceHandle): boolean | undefined;
  /** How many of the node's processes the kernel killed for memory (its instance type's): 0 when none, or unknown. */
  oomKills(instance: InstanceHandle): number;
}
