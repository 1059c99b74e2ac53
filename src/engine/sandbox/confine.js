// How tenant code is started: as an unprivileged uid, inside bubblewrap (its own user, mount, pid,
// IPC and UTS namespaces; the host's network), in a limit group. The sandboxed process sees the
// system read-only (/usr, /etc and the usual links), a fresh /proc and /dev, and only the directories
// its caller mounts; when its first process ends, bubblewrap's init ends and the kernel kills every
// process left in the pid namespace, a setsid or double-forked one included.
//
// Writable inside are only the caller's `bind` and `tmpfs` mounts: the root bwrap builds the view on
// and /dev are remounted read-only.
//
// The command is a chain of execs, each doing one thing: /bin/sh writes its pid into the limit
// group's cgroup.procs (so nothing runs outside the group, not even for a moment), setpriv drops to
// the sandbox's uid with no capabilities, and bwrap builds the namespaces as that uid (unprivileged
// user namespaces) and runs the command. A server started by a normal user skips setpriv: the
// sandbox then runs as that user, still in its own namespaces.
//
// Plain JavaScript: the node agent (a dependency-free program) uses it as well as the control plane.
import { accessSync, constants, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * @typedef {object} SandboxTool
 * @property {string} bwrap    absolute path of bubblewrap
 * @property {string} setpriv  absolute path of util-linux's setpriv
 */

/**
 * @typedef {(
 *   | { type: 'ro-bind' | 'bind'; source: string; target: string }
 *   | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number }
 *   | { type: 'dir'; target: string; mode?: number }
 *   | { type: 'symlink'; source: string; target: string }
 * )} Mount
 */

/**
 * @typedef {object} SandboxSpec
 * @property {SandboxTool} tool
 * @property {number | null} uid   run as this uid (null: the caller's own, e.g. a server run by a normal user)
 * @property {number | null} gid
 * @property {Mount[]} mounts      on top of the system view, in order (a later mount may sit inside an earlier one)
 * @property {string} cwd          inside the sandbox
 * @property {string[]} argv       the command, inside the sandbox
 * @property {{ procsFiles: string[] } | null} [limits]  the limit group to join first
 * @property {string} [hostname]
 */

const SEARCH_PATH = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/** @param {string} file */
function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return path.resolve(file);
  } catch {
    return null;
  }
}

/** @param {string} name */
function findProgram(name) {
  for (const dir of SEARCH_PATH) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The sandbox tools on this host, or null with what is missing.
 * @param {{ bwrap?: string }} [options] a bubblewrap to use instead of the one on the system path
 */
export function findSandboxTool(options = {}) {
  const bwrap = options.bwrap !== undefined ? executable(options.bwrap) : findProgram('bwrap');
  const setpriv = findProgram('setpriv');
  if (bwrap && setpriv) return { tool: /** @type {SandboxTool} */ ({ bwrap, setpriv }), missing: [] };
  const missing = [];
  if (!bwrap) missing.push('bubblewrap (bwrap)');
  if (!setpriv) missing.push('util-linux (setpriv)');
  return { tool: null, missing };
}

/** The host's top-level system entries as the sandbox repeats them: links stay links, dirs read-only. */
function systemMounts() {
  /** @type {string[]} */
  const args = [];
  for (const entry of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc']) {
    let stat;
    try {
      stat = lstatSync(entry);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(entry), entry);
    else if (stat.isDirectory()) args.push('--ro-bind', entry, entry);
  }
  return args;
}

let systemArgs = /** @type {string[] | null} */ (null);

/** @param {Mount} mount */
function mountArgs(mount) {
  switch (mount.type) {
    case 'ro-bind':
      return ['--ro-bind', mount.source, mount.target];
    case 'bind':
      return ['--bind', mount.source, mount.target];
    case 'symlink':
      return ['--symlink', mount.source, mount.target];
    case 'dir':
      return [...(mount.mode !== undefined ? ['--perms', mode(mount.mode)] : []), '--dir', mount.target];
    case 'tmpfs':
      return [
        ...(mount.mode !== undefined ? ['--perms', mode(mount.mode)] : []),
        ...(mount.sizeBytes !== undefined ? ['--size', String(Math.floor(mount.sizeBytes))] : []),
        '--tmpfs',
        mount.target,
      ];
  }
}

/** @param {number} m */
function mode(m) {
  return m.toString(8).padStart(4, '0');
}

/**
 * The program and arguments that start `spec.argv` in its sandbox (give them to spawn as they are;
 * the environment passes through unchanged).
 * @param {SandboxSpec} spec
 * @returns {{ file: string; args: string[] }}
 */
export function sandboxedCommand(spec) {
  systemArgs ??= systemMounts();
  const bwrap = [
    spec.tool.bwrap,
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    // bwrap's init (pid 1 inside) dies with the outer bwrap, and takes every process inside with it
    '--die-with-parent',
    ...(spec.uid !== null ? ['--uid', String(spec.uid)] : []),
    ...(spec.gid !== null ? ['--gid', String(spec.gid)] : []),
    '--hostname',
    spec.hostname ?? 'sandbox',
    ...systemArgs,
    '--proc',
    '/proc',
    // device nodes stay usable (a read-only mount does not stop writes to a device), but /dev
    // itself (and /dev/shm) is no place to store files: a caller wanting /dev/shm mounts a tmpfs
    '--dev',
    '/dev',
    '--remount-ro',
    '/dev',
    ...spec.mounts.flatMap(mountArgs),
    // the root bwrap builds the view on is a tmpfs of its own: once built, nothing may be added to
    // it (writable stays only what a mount made writable: a bind or a tmpfs such as /tmp)
    '--remount-ro',
    '/',
    '--chdir',
    spec.cwd,
    '--',
    ...spec.argv,
  ];
  const drop =
    spec.uid !== null && spec.gid !== null
      ? [spec.tool.setpriv, `--reuid=${spec.uid}`, `--regid=${spec.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all']
      : [];
  const files = spec.limits?.procsFiles ?? [];
  // $1 = how many cgroup.procs files follow; each gets this shell's pid, then the rest is exec'd
  const join = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';
  return { file: '/bin/sh', args: ['-c', join, 'sandbox', String(files.length), ...files, ...drop, ...bwrap] };
}

/** The pids whose parent is `pid` (from /proc; the kernel's children list is not on every build). */
function childrenOf(/** @type {number} */ pid) {
  /** @type {number[]} */
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * The sandbox's first process (the command itself, below bwrap's init) as the host numbers it, or
 * null once it has ended.
 * @param {number} pid the spawned process (sh, exec'd into bwrap)
 */
export function sandboxMainPid(pid) {
  for (const init of childrenOf(pid)) {
    const [main] = childrenOf(init);
    if (main !== undefined) return main;
  }
  return null;
}

/**
 * Sends `signal` to every process inside the sandbox whose outer bwrap is `pid` (found by its pid
 * namespace), not to bwrap itself nor to its init: a stop asks the sandbox's processes to end and
 * the sandbox goes away when its command has; SIGKILL to `pid` ends it at once.
 * @param {number} pid the spawned process (sh, exec'd into bwrap)
 * @param {NodeJS.Signals} signal
 * @returns {number} how many processes were signalled
 */
export function signalSandbox(pid, signal) {
  let count = 0;
  for (const init of childrenOf(pid)) {
    let ns;
    try {
      ns = readlinkSync(`/proc/${init}/ns/pid`);
    } catch {
      continue;
    }
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || Number(name) === init) continue;
      try {
        if (readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
        process.kill(Number(name), signal);
        count++;
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
  }
  return count;
}
