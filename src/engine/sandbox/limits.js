// Resource limits for sandboxes: one control group per sandbox, with a memory limit (no swap), a
// process-count limit and a CPU quota. cgroups v2 where the host mounts the unified hierarchy with
// its controllers, v1 otherwise (memory, pids and cpu hierarchies under /sys/fs/cgroup). Only root
// (or a user a v2 subtree was delegated to) can make groups: elsewhere `probeLimits` answers null and
// sandboxes run without limits.
//
// Plain JavaScript: the node agent (a dependency-free program that may run on another host) uses it
// as well as the control plane.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
const V1_CONTROLLERS = /** @type {const} */ (['memory', 'pids', 'cpu']);
const CPU_PERIOD_US = 100_000;

/**
 * @typedef {object} LimitSpec
 * @property {number} memoryBytes   the group's memory (resident + page cache it dirties, tmpfs it fills); no swap
 * @property {number} maxProcesses  processes and threads together (the pids controller counts tasks)
 * @property {number | null} [cpus] CPU time per period, in cores (1.5 = one and a half cores); null: no quota
 */

/** @param {string} file @param {string} value */
function write(file, value) {
  writeFileSync(file, value);
}

/** @param {string} file */
function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** "key value" lines (memory.events, memory.oom_control, memory.stat) → the value of `key`. */
function field(/** @type {string} */ text, /** @type {string} */ key) {
  const m = text.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

/** A made group: where its processes are listed, what it has seen, and its removal. */
export class LimitGroup {
  /**
   * @param {1 | 2} version
   * @param {string[]} dirs one per hierarchy (v1) or the one unified dir (v2)
   */
  constructor(version, dirs) {
    this.version = version;
    this.dirs = dirs;
  }

  /** The files a process writes its pid to in order to join the group (each hierarchy's). */
  get procsFiles() {
    return this.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  /** The pids in the group now. */
  pids() {
    const text = read(this.procsFiles[0]);
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** How many times the kernel killed a process of the group for memory. */
  oomKills() {
    if (this.version === 2) return field(read(path.join(this.dirs[0], 'memory.events')), 'oom_kill');
    return field(read(path.join(this.memoryDir, 'memory.oom_control')), 'oom_kill');
  }

  /** Peak memory of the group in bytes (0 where the kernel keeps no peak). */
  peakBytes() {
    const file = this.version === 2 ? path.join(this.dirs[0], 'memory.peak') : path.join(this.memoryDir, 'memory.max_usage_in_bytes');
    return Number(read(file).trim()) || 0;
  }

  /** Memory in use by the group now, in bytes. */
  currentBytes() {
    const file = this.version === 2 ? path.join(this.dirs[0], 'memory.current') : path.join(this.memoryDir, 'memory.usage_in_bytes');
    return Number(read(file).trim()) || 0;
  }

  get memoryDir() {
    return this.dirs.find((d) => d.includes(`${path.sep}memory${path.sep}`)) ?? this.dirs[0];
  }

  /** SIGKILLs every process in the group (v2: atomically through cgroup.kill). */
  killAll() {
    if (this.version === 2 && existsSync(path.join(this.dirs[0], 'cgroup.kill'))) {
      try {
        write(path.join(this.dirs[0], 'cgroup.kill'), '1');
        return;
      } catch {
        // fall through to one signal per process
      }
    }
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  /** Kills what is in the group and removes it: the kernel removes a group only once its last process is reaped, a moment after the kill. */
  async killAndRemove() {
    this.killAll();
    for (let i = 0; i < 100 && !this.remove(); i++) await new Promise((r) => setTimeout(r, 20));
  }

  /** Removes the group once it is empty; true when it is gone. */
  remove() {
    let gone = true;
    for (const dir of this.dirs) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ENOENT') gone = false;
      }
    }
    return gone;
  }
}

/** Makes and finds groups below one parent ("emberplane/<owner>") in each hierarchy. */
export class Limits {
  /**
   * @param {1 | 2} version
   * @param {string[]} parents
   */
  constructor(version, parents) {
    this.version = version;
    this.parents = parents;
  }

  /**
   * A new group named `name` (a safe path segment) with `spec`'s limits. An existing group of that
   * name is emptied of nothing and reused with the new limits.
   * @param {string} name
   * @param {LimitSpec} spec
   */
  create(name, spec) {
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === '.' || name === '..') throw new Error(`invalid limit group name ${name}`);
    const dirs = this.parents.map((p) => path.join(p, name));
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
    const group = new LimitGroup(this.version, dirs);
    const memory = String(Math.max(4 << 20, Math.floor(spec.memoryBytes)));
    const pids = String(Math.max(1, Math.floor(spec.maxProcesses)));
    const quota = spec.cpus ? String(Math.max(1000, Math.round(spec.cpus * CPU_PERIOD_US))) : null;
    if (this.version === 2) {
      const dir = dirs[0];
      write(path.join(dir, 'memory.max'), memory);
      if (existsSync(path.join(dir, 'memory.swap.max'))) write(path.join(dir, 'memory.swap.max'), '0');
      // the kernel kills the whole group on OOM, not one random process of it
      if (existsSync(path.join(dir, 'memory.oom.group'))) write(path.join(dir, 'memory.oom.group'), '1');
      write(path.join(dir, 'pids.max'), pids);
      write(path.join(dir, 'cpu.max'), `${quota ?? 'max'} ${CPU_PERIOD_US}`);
    } else {
      const [memoryDir, pidsDir, cpuDir] = dirs;
      write(path.join(memoryDir, 'memory.limit_in_bytes'), memory);
      // without swap accounting the memsw file is absent; with it, no swap on top of the limit
      const memsw = path.join(memoryDir, 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) write(memsw, memory);
      try {
        write(path.join(memoryDir, 'memory.swappiness'), '0');
      } catch {
        // not settable on every kernel
      }
      write(path.join(pidsDir, 'pids.max'), pids);
      write(path.join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      write(path.join(cpuDir, 'cpu.cfs_quota_us'), quota ?? '-1');
    }
    return group;
  }

  /** The group called `name`, if it exists (after a restart, to kill and remove what is left). */
  find(/** @type {string} */ name) {
    const dirs = this.parents.map((p) => path.join(p, name));
    return dirs.every((d) => existsSync(d)) ? new LimitGroup(this.version, dirs) : null;
  }

  /** The names of the groups below the parent. */
  names() {
    try {
      return readdirSync(this.parents[0], { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  }
}

/** Whether `dir` is a v2 hierarchy root with the controllers we need available. */
function unifiedWithControllers(/** @type {string} */ dir) {
  const controllers = read(path.join(dir, 'cgroup.controllers')).split(/\s+/);
  return ['memory', 'pids', 'cpu'].every((c) => controllers.includes(c));
}

/**
 * Limits under `<hierarchy>/<owner…>` if this process can make groups there, else null.
 * `owner` is a relative path such as "emberplane/<server id>"; each of its segments is made.
 * @param {string} owner
 * @param {{ root?: string }} [options]
 * @returns {Limits | null}
 */
export function probeLimits(owner, options = {}) {
  const root = options.root ?? CGROUP_ROOT;
  try {
    if (unifiedWithControllers(root)) {
      // v2: each level above the groups must hand the controllers down (and hold no process itself)
      let dir = root;
      for (const segment of owner.split('/')) {
        write(path.join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu');
        dir = path.join(dir, segment);
        mkdirSync(dir, { recursive: true });
      }
      write(path.join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu');
      return new Limits(2, [dir]);
    }
    const parents = V1_CONTROLLERS.map((c) => path.join(root, c, owner));
    if (!V1_CONTROLLERS.every((c) => existsSync(path.join(root, c, 'cgroup.procs')))) return null;
    for (const dir of parents) mkdirSync(dir, { recursive: true });
    // v1 memory: children are accounted in their parents (default on current kernels; set where settable)
    try {
      write(path.join(parents[0], 'memory.use_hierarchy'), '1');
    } catch {
      // fixed to 1 on cgroup v1 since Linux 6.x
    }
    return new Limits(1, parents);
  } catch {
    return null;
  }
}
