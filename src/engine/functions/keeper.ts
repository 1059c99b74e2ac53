// Instances must not outlive their server. They are process groups of their own (detached, so
// that a timeout can kill a whole group), so nothing takes them down with a server killed by
// kill -9 or the OOM killer: a busy instance would run its invocation to the end, and a runtime
// that loops on a failing /next (the Lambda docs' bash bootstrap does) would spin forever. Node has
// no PR_SET_PDEATHSIG, so each server keeps one small shell beside it, told the group of every
// instance it starts and stops; when the server's end of the pipe closes (however the server
// ended) the shell kills the groups still listed and removes the server's runtime root, but for
// output the instances wrote that is not stored yet and records its journals hold (output.ts,
// journal.ts: the next server to start stores them and removes the rest). A confined
// instance's group is its sandbox's outer process: killing it ends every process of the sandbox.
// Then the server's control groups go, once their processes are gone (a group with processes, or
// with groups inside, can't be removed: the loop waits up to 5 s for the kills to land).
import { spawn, type ChildProcess } from 'node:child_process';

// Only builtins, and no fork per message (dash: `kill -9 -<pgid>`, its kill takes no `--`).
// Signals sent to the server's process group (Ctrl-C) are ignored: its cue is the end of its input.
const SCRIPT = `
trap '' HUP INT TERM QUIT
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) id=\${line#-}
        case $groups in *" $id "*) groups="\${groups%% $id *} \${groups#* $id }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
for f in "$1"/* "$1"/.[!.]*; do
  case $f in "$1/output"|"$1/owner.json") ;; *) rm -rf --one-file-system -- "$f" ;; esac
done
for a in "$1"/output/*.ack; do
  [ -f "$a" ] || continue
  n=\${a%.ack}
  read -r o e < "$a" || true
  so=$( { wc -c < "$n.out"; } 2>/dev/null || echo 0)
  se=$( { wc -c < "$n.err"; } 2>/dev/null || echo 0)
  [ "\${so:-0}" -le "\${o:-0}" ] && [ "\${se:-0}" -le "\${e:-0}" ] && rm -f -- "$n.out" "$n.err" "$n.meta" "$a"
done
for j in "$1"/output/*.journal; do [ -f "$j" ] && [ ! -s "$j" ] && rm -f -- "$j"; done
rmdir "$1/output" 2>/dev/null && { rm -f "$1/owner.json"; rmdir "$1"; }
shift
tries=50
while [ $# -gt 0 ] && [ $tries -gt 0 ]; do
  left=0
  for parent in "$@"; do
    for g in "$parent"/*/; do [ -d "$g" ] && { rmdir "$g" 2>/dev/null || left=1; }; done
    [ -d "$parent" ] && { rmdir "$parent" 2>/dev/null || left=1; }
  done
  [ $left = 0 ] && break
  tries=$((tries-1))
  sleep 0.1
done
`;

export class InstanceKeeper {
  private readonly proc: ChildProcess;
  private readonly exited: Promise<void>;

  /** `groupParents`: the dirs holding the server's control groups (one per hierarchy), if any */
  constructor(root: string, groupParents: string[]) {
    this.proc = spawn('/bin/sh', ['-c', SCRIPT, 'emberplane-fn-keeper', root, ...groupParents], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.once('error', () => resolve());
    });
    // a keeper that died can't be told anything: the start-up sweep of dead roots is the fallback
    this.proc.stdin!.on('error', () => {});
    this.proc.unref();
    (this.proc.stdin as unknown as { unref?: () => void }).unref?.();
  }

  watch(pgid: number): void {
    this.proc.stdin!.write(`+${pgid}\n`);
  }

  unwatch(pgid: number): void {
    this.proc.stdin!.write(`-${pgid}\n`);
  }

  /** After a clean stop of every instance: the keeper finds none left, removes the root and exits. */
  async close(): Promise<void> {
    this.proc.stdin!.end();
    await this.exited;
  }
}
