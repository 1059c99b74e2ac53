// @ts-check
// The node's figures for the control plane (scaling rules, metrics queries): CPU and memory of the
// agent and everything below it (steps, Spark daemons, executors), and on the MASTER of a SPARK
// cluster the Spark master's own counts. Linux /proc; elsewhere the node part reads as 0.
import { readdirSync, readFileSync } from 'node:fs';

/** @typedef {import('../types.js').AgentMetrics} AgentMetrics */

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

/** @returns {Map<number, {ppid: number, ticks: number, rssPages: number}>} */
function snapshot() {
  const out = new Map();
  let names = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const raw = readFileSync(`/proc/${n}/stat`, 'utf8');
      const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state ppid … utime(12) stime(13) … rss(22)
      out.set(Number(n), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU ticks and resident pages of `root` and its descendants. @param {number} root */
function treeUsage(root) {
  const procs = snapshot();
  const children = new Map();
  for (const [pid, p] of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(pid);
    else children.set(p.ppid, [pid]);
  }
  let ticks = 0;
  let rssPages = 0;
  const queue = [root];
  const seen = new Set(queue);
  while (queue.length) {
    const pid = /** @type {number} */ (queue.shift());
    const p = procs.get(pid);
    if (p) {
      ticks += p.ticks;
      rssPages += p.rssPages;
    }
    for (const c of children.get(pid) ?? []) {
      if (!seen.has(c)) {
        seen.add(c);
        queue.push(c);
      }
    }
  }
  return { ticks, rssPages };
}

/** @param {any} s the master's /json/ */
function sparkFigures(s) {
  /** @type {any[]} */
  const apps = Array.isArray(s.activeapps) ? s.activeapps : [];
  return {
    aliveWorkers: Number(s.aliveworkers ?? 0),
    coresTotal: Number(s.cores ?? 0),
    coresUsed: Number(s.coresused ?? 0),
    memoryTotalMb: Number(s.memory ?? 0),
    memoryUsedMb: Number(s.memoryused ?? 0),
    appsRunning: apps.filter((a) => a.state === 'RUNNING').length,
    appsWaiting: apps.filter((a) => a.state === 'WAITING').length,
    appsCompleted: Array.isArray(s.completedapps) ? s.completedapps.length : 0,
  };
}

/**
 * Sends `metrics` every `intervalMs` until the returned stop function is called.
 * @param {{ intervalMs: number, send: (m: AgentMetrics) => void, sparkStatus: (() => Promise<any>) | null }} options
 */
export function startMetrics({ intervalMs, send, sparkStatus }) {
  let last = { at: Date.now(), ticks: treeUsage(process.pid).ticks };
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const at = Date.now();
      const usage = treeUsage(process.pid);
      const seconds = Math.max((at - last.at) / 1000, 0.001);
      // percent of one core, like top; a node of N vCPUs can reach N×100
      const cpuPercent = Math.max(0, ((usage.ticks - last.ticks) / CLOCK_TICKS / seconds) * 100);
      last = { at, ticks: usage.ticks };
      /** @type {AgentMetrics} */
      const m = {
        at,
        node: { cpuPercent: Math.round(cpuPercent * 10) / 10, rssMb: Math.round((usage.rssPages * PAGE_BYTES) / 1048576) },
      };
      const status = sparkStatus ? await sparkStatus() : null;
      if (status) m.spark = sparkFigures(status);
      send(m);
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
