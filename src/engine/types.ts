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

/** Messages a node agent sends (see docs/agent-protocol.md). */
export type AgentMessage =
  | { type: 'hello'; instanceId: string; token: string; pid: number; host: string; steps: AgentStepReport[] }
  | { type: 'ready' }
  | { type: 'heartbeat'; at: number }
  | { type: 'metrics'; at: number; node?: { cpuPercent?: number; rssMb?: number }; spark?: Record<string, number> }
  | { type: 'stepStarted'; stepId: string; pid: number; at: number }
  | { type: 'log'; stepId: string; lines: AgentLogLine[] }
  | { type: 'progress'; stepId: string; value: number }
  | { type: 'stepExited'; stepId: string; exitCode: number | null; signal: string | null; at: number; lastSeq: number; result?: Record<string, unknown> | null };

/** Messages the control plane sends to a node agent. */
export type ControlMessage =
  | { type: 'welcome' }
  | { type: 'error'; message: string }
  | { type: 'runStep'; stepId: string; args: string[]; env: Record<string, string> }
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
}

/** Starts and stops node agents. The local driver runs them as processes on this host. */
export interface EngineDriver {
  readonly host: string;
  launch(spec: InstanceLaunchSpec): Promise<LaunchedInstance>;
  /** SIGTERM the agent (it stops its steps and exits), SIGKILL its process group after graceMs. */
  stop(instance: InstanceHandle, graceMs: number): Promise<void>;
  /** true/false when this driver can tell (the instance runs on its host), undefined otherwise. */
  isAlive(instance: InstanceHandle): boolean | undefined;
}
