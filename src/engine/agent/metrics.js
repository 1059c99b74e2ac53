// @ts-check
// The node part of the agent's `metrics` report: CPU and resident memory of the node's processes
// (the agent and all its descendants: steps, framework daemons), read from Linux /proc. Elsewhere
// there is no /proc and the figures are those of the agent process alone.
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ, the unit of /proc CPU times: 100 on every Linux ABI Node.js runs on.
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/**
 * @param {number} pid
 * @returns {{ ppid: number, ticks: number, rssPages: number } | null}
 */
function readStat(pid) {
  let raw;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // fields after the command name (which may hold spaces and parentheses): state is index 0
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  // utime + stime of the process, + cutime + cstime of its children that ended and were reaped
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { ppid: Number(f[1]), ticks, rssPages: Number(f[21]) };
}

/** @param {number} root @returns {Map<number, { ticks: number, rssPages: number }>} */
function processTree(root) {
  /** @type {Map<number, { ppid: number, ticks: number, rssPages: number }>} */
  const all = new Map();
  /** @type {string[]} */
  let names = [];
  try {
    names = readdirSync('/proc');
  } catch {
    // not Linux
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const s = readStat(Number(n));
    if (s) all.set(Number(n), s);
  }
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const [pid, s] of all) {
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const tree = new Map();
  const queue = [root];
  while (queue.length) {
    const pid = /** @type {number} */ (queue.pop());
    const s = all.get(pid);
    if (s) tree.set(pid, s);
    for (const c of children.get(pid) ?? []) if (!tree.has(c)) queue.push(c);
  }
  return tree;
}

/**
 * A sampler of the node's use since its previous call: CPU as a percentage of the node's vCPUs
 * (100 = all of them busy) and resident memory in MB. CPU time is counted per process, so a
 * process that ends between two samples does not make the figure drop below zero.
 * @param {number} rootPid
 * @param {number} vcpu
 */
export function createNodeSampler(rootPid, vcpu) {
  /** @type {Map<number, number>} */
  let last = new Map();
  let lastAt = Date.now();
  let first = true;
  return () => {
    const now = Date.now();
    const tree = processTree(rootPid);
    let ticks = 0;
    let rssPages = 0;
    /** @type {Map<number, number>} */
    const seen = new Map();
    for (const [pid, s] of tree) {
      ticks += Math.max(0, s.ticks - (last.get(pid) ?? 0));
      rssPages += s.rssPages;
      seen.set(pid, s.ticks);
    }
    if (tree.size === 0) {
      // no /proc: the agent's own process is all that can be measured
      const usage = process.cpuUsage();
      ticks = Math.max(0, ((usage.user + usage.system) / 1e4) - (last.get(rootPid) ?? 0));
      seen.set(rootPid, (usage.user + usage.system) / 1e4);
      rssPages = process.memoryUsage().rss / PAGE_BYTES;
    }
    const seconds = Math.max(0.001, (now - lastAt) / 1000);
    const cpuPercent = first ? 0 : Math.min(100, (ticks / TICKS_PER_SECOND / seconds / Math.max(1, vcpu)) * 100);
    last = seen;
    lastAt = now;
    first = false;
    return { cpuPercent: Math.round(cpuPercent * 100) / 100, rssMb: Math.round((rssPages * PAGE_BYTES) / 1048576) };
  };
}
