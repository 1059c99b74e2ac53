// Function instances as local processes: warm instances are reused (most recently used first, so
// the others go idle and get reaped), new ones are started on demand (a cold start).
import {
  specKey as keyOf,
  type FunctionRuntime,
  type InstanceSpec,
  type InvokeOutcome,
  type InvokeRequest,
  type LineSink,
  type ProvisionState,
  type ProvisionTarget,
  type RunningInstance,
} from './types.js';
import { FunctionInstance, InstanceGoneError } from './instance.js';
import type { CommittedOf } from './output.js';
import { Sandbox, type SandboxOptions } from './sandbox.js';

export class LocalFunctionRuntime implements FunctionRuntime {
  readonly sandbox: Sandbox;
  /** idle instances per spec key, most recently used last */
  private readonly idle = new Map<string, FunctionInstance[]>();
  private readonly all = new Set<FunctionInstance>();
  private closed = false;
  /** provisioning that failed, per spec key, with the target generation it failed for */
  private readonly provisionFailures = new Map<string, { generation: string; reason: string }>();

  /** Instances run under <base>/emberplane-fn-<serverId> (see roots.ts). */
  constructor(
    base: string,
    serverId: string,
    private readonly sink: LineSink,
    options: SandboxOptions,
  ) {
    this.sandbox = new Sandbox(base, serverId, options);
  }

  /**
   * Returns the runtime roots of dead servers it swept; what their instances wrote that was not
   * stored goes to the sink first, and each root waits until its lines are written and
   * `beforeRemoval` has taken what else it holds (a journal's records). `committedOf` answers
   * whether a batch of lines that was committing when their server died went in (a host without
   * the database has no such batches: the server its lines go to stores them).
   */
  init(
    beforeRemoval: (deadRoot: string) => Promise<void> = async () => {},
    committedOf: CommittedOf = async () => new Set(),
  ): Promise<string[]> {
    return this.sandbox.init(async (leftovers, deadRoot) => {
      await Promise.all(
        leftovers.map(
          ({ functionId, lines }) =>
            new Promise<void>((resolve) => {
              lines[lines.length - 1]!.stored = resolve;
              this.sink(functionId, lines);
            }),
        ),
      );
      await beforeRemoval(deadRoot);
    }, committedOf);
  }

  async prepareCode(functionId: string, codeHash: string, packagePath: string): Promise<void> {
    await this.sandbox.prepare(functionId, codeHash, packagePath);
  }

  async invoke(spec: InstanceSpec, request: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome> {
    return this.invokeOn(this.lastIdle(spec)?.id ?? null, spec, request, signal);
  }

  /** whether an idle instance of the spec waits here (an invocation would start warm) */
  hasIdle(spec: InstanceSpec): boolean {
    return this.lastIdle(spec) !== undefined;
  }

  /** The most recently used idle instance of the spec: taken first, so the others go idle and get reaped. */
  private lastIdle(spec: InstanceSpec): FunctionInstance | undefined {
    const list = this.idle.get(keyOf(spec));
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.state === 'IDLE') return list[i];
    return undefined;
  }

  /**
   * Runs the invocation on the idle instance `instanceId` (a host daemon: the control plane picked
   * it), or on a new instance when it is null or no longer idle; never on another idle one, which
   * the control plane may be sending the next invocation to.
   */
  async invokeOn(
    instanceId: string | null,
    spec: InstanceSpec,
    request: InvokeRequest,
    signal?: AbortSignal,
    retried = false,
  ): Promise<InvokeOutcome> {
    if (this.closed) throw new Error('the function runtime is closed');
    const key = keyOf(spec);
    const list = this.idle.get(key) ?? [];
    const at = instanceId === null ? -1 : list.findIndex((i) => i.id === instanceId && i.state === 'IDLE');
    let instance = at >= 0 ? list.splice(at, 1)[0] : undefined;
    instance ??= await this.startInstance(spec, false);
    try {
      if (signal) return await this.invokeUntil(instance, request, signal);
      const outcome = await instance.invoke(request);
      this.parkIdle(instance);
      return outcome;
    } catch (err) {
      // the warm instance was gone before the invocation reached it: a new one runs it (as Lambda
      // starts a new execution environment when a runtime exits between invocations)
      if (err instanceof InstanceGoneError && !signal?.aborted && !retried) return this.invokeOn(null, spec, request, signal, true);
      throw err;
    }
  }

  /** An abort kills the instance: the invocation ends as a Runtime.ExitError. */
  private async invokeUntil(instance: FunctionInstance, request: InvokeRequest, signal: AbortSignal): Promise<InvokeOutcome> {
    const cut = () => void instance.stop();
    if (signal.aborted) cut();
    else signal.addEventListener('abort', cut, { once: true });
    try {
      const outcome = await instance.invoke(request);
      this.parkIdle(instance);
      return outcome;
    } finally {
      signal.removeEventListener('abort', cut);
    }
  }

  private async startInstance(spec: InstanceSpec, provisioned: boolean): Promise<FunctionInstance> {
    this.retireOlderRevisions(spec);
    const codeDir = await this.sandbox.prepare(spec.functionId, spec.codeHash, spec.packagePath);
    const optDir = await this.sandbox.prepareLayers(spec.functionId, spec.layers);
    const instance = new FunctionInstance(spec, this.sandbox, this.sink, (i) => this.forget(i));
    instance.provisioned = provisioned;
    this.all.add(instance);
    try {
      await instance.start({ codeDir, optDir });
    } catch (err) {
      await instance.stop();
      this.forget(instance);
      throw err;
    }
    return instance;
  }

  private parkIdle(instance: FunctionInstance): void {
    if (instance.state !== 'IDLE' || this.closed) return;
    const key = keyOf(instance.spec);
    const list = this.idle.get(key) ?? [];
    if (!list.includes(instance)) list.push(instance);
    this.idle.set(key, list);
  }

  async provision(targets: ProvisionTarget[]): Promise<Map<string, ProvisionState>> {
    const wanted = new Map(targets.map((t) => [keyOf(t.spec), t]));
    for (const i of this.all) if (i.provisioned && !wanted.has(keyOf(i.spec))) i.provisioned = false;
    const states = new Map<string, ProvisionState>();
    for (const [key, target] of wanted) {
      const mine = [...this.all].filter((i) => i.provisioned && keyOf(i.spec) === key && i.state !== 'DEAD');
      // surplus instances stay as ordinary warm ones, idle ones first
      mine.sort((a, b) => Number(a.state === 'IDLE') - Number(b.state === 'IDLE'));
      while (mine.length > target.count) mine.pop()!.provisioned = false;
      const failed = this.provisionFailures.get(key);
      if (failed && failed.generation !== target.generation) this.provisionFailures.delete(key);
      for (let n = mine.length; n < target.count && !this.provisionFailures.has(key) && !this.closed; n++) {
        const instance = await this.startInstance(target.spec, true);
        mine.push(instance);
        void instance.ready.then((ok) => {
          if (ok) this.parkIdle(instance);
          else if (instance.provisioned) this.provisionFailures.set(key, { generation: target.generation, reason: instance.failureReason });
        });
      }
      states.set(key, {
        ready: mine.filter((i) => i.state === 'IDLE' || i.state === 'BUSY').length,
        starting: mine.filter((i) => i.state === 'INIT').length,
        failure: this.provisionFailures.get(key)?.reason ?? null,
      });
    }
    return states;
  }

  /** Idle instances of an older revision of this version ($LATEST was updated) are never used again. */
  private retireOlderRevisions(spec: InstanceSpec): void {
    for (const [key, list] of this.idle) {
      const [functionId, version, revisionId] = key.split('|');
      if (functionId !== spec.functionId || version !== spec.version || revisionId === spec.revisionId) continue;
      this.idle.delete(key);
      for (const instance of list) void instance.stop();
    }
  }

  private forget(instance: FunctionInstance): void {
    this.all.delete(instance);
    const key = keyOf(instance.spec);
    const list = this.idle.get(key);
    if (!list) return;
    const i = list.indexOf(instance);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(key);
  }

  async reap(idleMs: number, keep: (functionId: string, revisionId: string) => boolean = () => true): Promise<void> {
    const now = Date.now();
    const stopping: Promise<void>[] = [];
    for (const list of this.idle.values()) {
      for (const instance of [...list]) {
        if ((now - instance.lastUsed >= idleMs && !instance.provisioned) || !keep(instance.spec.functionId, instance.spec.revisionId)) {
          this.forget(instance);
          stopping.push(instance.stop());
        }
      }
    }
    await Promise.all(stopping);
  }

  /** Stops every instance but those in `keep` (a host daemon's new session: the control plane forgot the others). */
  async stopAllBut(keep: ReadonlySet<string>): Promise<void> {
    await Promise.all([...this.all].filter((i) => !keep.has(i.id)).map((i) => i.stop()));
  }

  /** The live instances, as a host daemon reports them. */
  instances(): RunningInstance[] {
    return [...this.all]
      .filter((i) => i.state !== 'DEAD')
      .map((i) => ({
        instanceId: i.id,
        key: keyOf(i.spec),
        functionId: i.spec.functionId,
        functionName: i.spec.functionName,
        version: i.spec.version,
        memoryMb: i.spec.memoryMb,
        state: i.state as RunningInstance['state'],
        provisioned: i.provisioned,
      }));
  }

  counts(functionId: string): { busy: number; total: number } {
    let busy = 0;
    let total = 0;
    for (const i of this.all) {
      if (i.spec.functionId !== functionId) continue;
      total++;
      if (i.state === 'BUSY' || i.state === 'INIT') busy++;
    }
    return { busy, total };
  }

  /** pids of live instances (tests and the bench look at the processes) */
  pids(functionId?: string): number[] {
    return [...this.all]
      .filter((i) => !functionId || i.spec.functionId === functionId)
      .map((i) => i.pid)
      .filter((p): p is number => p !== null);
  }

  async removeFunction(functionId: string): Promise<void> {
    await Promise.all([...this.all].filter((i) => i.spec.functionId === functionId).map((i) => i.stop()));
    await this.sandbox.removeFunction(functionId);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((i) => i.stop()));
    this.idle.clear();
    await this.sandbox.close();
  }
}
