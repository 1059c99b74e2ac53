import type { ClusterRow } from '../tables.js';
import { ACTIVE_CLUSTER_STATES } from '../tables.js';

export interface SparkWorkerStatus {
  id: string;
  host: string;
  state: string;
  cores: number;
  coresUsed: number;
  memoryMb: number;
  memoryUsedMb: number;
  webUrl: string | null;
}

export interface SparkStatus {
  masterUrl: string | null;
  masterWebUrl: string | null;
  /** null while the master cannot be asked (not up yet, ended, unreachable) */
  status: string | null;
  aliveWorkers: number | null;
  coresTotal: number | null;
  coresUsed: number | null;
  activeApps: number | null;
  workers: SparkWorkerStatus[];
}

// the parts of the master's /json/ read here (Spark's names); anything else in them is left alone
interface MasterJson {
  status?: unknown;
  aliveworkers?: unknown;
  cores?: unknown;
  coresused?: unknown;
  activeapps?: unknown;
  workers?: unknown;
}
interface WorkerJson {
  id?: unknown;
  host?: unknown;
  state?: unknown;
  cores?: unknown;
  coresused?: unknown;
  memory?: unknown;
  memoryused?: unknown;
  webuiaddress?: unknown;
}

// a master on this host answers in milliseconds; one that does not must not hold up a page
const MASTER_TIMEOUT_MS = 1_000;

/**
 * A SPARK cluster's Spark as its own master sees it (the master's /json/): what counts for users
 * is Spark's view (e.g. ALIVE workers), not ours. Null for clusters without SPARK.
 */
export async function sparkStatus(cluster: ClusterRow): Promise<SparkStatus | null> {
  if (!cluster.applications.includes('SPARK')) return null;
  const base: SparkStatus = {
    masterUrl: cluster.sparkMasterUrl,
    masterWebUrl: cluster.sparkMasterWebUrl,
    status: null,
    aliveWorkers: null,
    coresTotal: null,
    coresUsed: null,
    activeApps: null,
    workers: [],
  };
  if (!cluster.sparkMasterWebUrl || !ACTIVE_CLUSTER_STATES.includes(cluster.state)) return base;
  let json: MasterJson;
  try {
    const res = await fetch(`${cluster.sparkMasterWebUrl}/json/`, { signal: AbortSignal.timeout(MASTER_TIMEOUT_MS) });
    if (!res.ok) return base;
    json = (await res.json()) as MasterJson;
  } catch {
    return base;
  }
  const workers: WorkerJson[] = Array.isArray(json.workers) ? json.workers : [];
  return {
    ...base,
    status: String(json.status ?? ''),
    aliveWorkers: Number(json.aliveworkers ?? 0),
    coresTotal: Number(json.cores ?? 0),
    coresUsed: Number(json.coresused ?? 0),
    activeApps: Array.isArray(json.activeapps) ? json.activeapps.length : 0,
    workers: workers.map((w) => ({
      id: String(w.id),
      host: String(w.host),
      state: String(w.state),
      cores: Number(w.cores),
      coresUsed: Number(w.coresused),
      memoryMb: Number(w.memory),
      memoryUsedMb: Number(w.memoryused),
      webUrl: w.webuiaddress ? String(w.webuiaddress) : null,
    })),
  };
}
