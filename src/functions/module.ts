// Functions (the Lambda model): code, versions and aliases, invocations sync and async, provisioned
// concurrency, and the instances that run them on this server (the engine's function runtime).
import os from 'node:os';
import { closeToOthers } from '../engine/functions/sandbox.js';
import { LocalFunctionRuntime } from '../engine/functions/local-runtime.js';
import type { AuthService } from '../access/service.js';
import type { LogService } from '../logs/service.js';
import type { HttpSurface, Module } from '../platform/module.js';
import type { HostsModule } from '../hosts/module.js';
import type { HostsFunctionRuntime } from '../hosts/function-runtime.js';
import { hostCodeRoute } from './host-code.js';
import { Channel } from '../platform/notifications/channels.js';
import type { Platform } from '../platform/platform.js';
import type { StorageService } from '../storage/service.js';
import { FunctionCodeStore } from './code-store.js';
import { FunctionService } from './functions.js';
import { FunctionLogWriter, InvocationService } from './invocations.js';
import { createFunctionLoaders } from './loaders.js';
import { AsyncInvoker } from './loops/async-invoker.js';
import { FunctionInstanceController } from './loops/instance-controller.js';
import { PackageSweeper } from './loops/package-sweeper.js';
import { ProvisionedConcurrencyService } from './provisioned-concurrency.js';
import { FunctionResolver } from './resolvers.js';
import { LayerResolver } from './layers/resolvers.js';
import { LayerService } from './layers/service.js';
import { perRequest } from '../platform/graphql/context.js';

export const functionsResolvers = [FunctionResolver, LayerResolver];

export class FunctionsModule implements Module {
  readonly name = 'functions';
  readonly functions: FunctionService;
  readonly provisioned: ProvisionedConcurrencyService;
  readonly layers: LayerService;
  readonly invocations: InvocationService;
  /** the engine running this server's own function instances */
  readonly runtime: LocalFunctionRuntime;
  /** where invocations run: this server's instances and those on the joined hosts it holds */
  readonly acrossHosts: HostsFunctionRuntime;
  readonly resolvers: object[];
  readonly http: HttpSurface;
  private readonly instanceController: FunctionInstanceController;
  private readonly asyncInvoker: AsyncInvoker;
  private readonly packageSweeper: PackageSweeper;

  constructor(
    private readonly platform: Platform,
    deps: { logs: LogService; storage: StorageService; access: AuthService; hosts: HostsModule },
  ) {
    const { sql, config, log, secrets, serverId } = platform;
    const logWriter = new FunctionLogWriter(sql, log);
    this.runtime = new LocalFunctionRuntime(
      config.functionsRuntimeDir ?? os.tmpdir(),
      serverId,
      (functionId, lines) => logWriter.add(functionId, lines),
      {
        pythonCommand: config.functionPython,
        pythonSdkDir: config.functionPythonSdkDir,
        nodeSdkDir: config.functionNodeSdkDir,
        tool: platform.sandboxTool,
        spares: config.functionSpareSandboxes,
        debug: (msg) => log.debug(msg),
      },
    );
    this.acrossHosts = deps.hosts.functionRuntime(this.runtime, (functionId, lines) => logWriter.add(functionId, lines));
    this.acrossHosts.onHostGone = () => this.instanceController.kick();
    const code = new FunctionCodeStore(config.dataDir, deps.storage);
    this.layers = new LayerService(sql, code);
    this.functions = new FunctionService(
      sql,
      code,
      config.functionConcurrencyLimit,
      secrets,
      {
        pending: () => this.instanceController.kick(),
        deleted: (functionId) => {
          this.acrossHosts
            .removeFunction(functionId)
            .catch((err) => log.error({ err, functionId }, "stopping a deleted function's instances failed"));
        },
      },
      {
        s3EndpointUrl: () => platform.address.localUrl,
        xrayDaemonAddress: config.functionXrayDaemonAddress,
        executionKey: (caller, keyId, field) => deps.access.executionKey(caller, keyId, field),
        layerVersions: (caller, arns, field) => this.layers.forFunction(caller, arns, field),
      },
    );
    this.provisioned = new ProvisionedConcurrencyService(sql, this.functions, config.functionConcurrencyLimit, () =>
      this.instanceController.kick(),
    );
    this.invocations = new InvocationService(
      sql,
      this.functions,
      this.acrossHosts,
      logWriter,
      config.functionConcurrencyLimit,
      { retryDelayMs: (attempt) => config.functionRetryDelayMs * attempt },
      this.runtime.sandbox.root,
      log,
    );
    this.instanceController = new FunctionInstanceController(this.functions, this.provisioned, this.acrossHosts, log, {
      intervalMs: config.reconcileIntervalMs,
      idleMs: config.functionIdleSeconds * 1_000,
    });
    this.asyncInvoker = new AsyncInvoker(sql, this.invocations, serverId, log, {
      intervalMs: config.reconcileIntervalMs,
      parallel: config.functionAsyncParallel,
      leaseSeconds: 960,
      shutdownGraceMs: config.functionShutdownGraceMs,
    });
    this.packageSweeper = new PackageSweeper(sql, code, log, {
      intervalMs: config.functionPackageSweepMs,
      graceSeconds: config.functionPackageGraceSeconds,
    });
    this.http = {
      routes: [
        {
          path: '/host/code',
          handler: hostCodeRoute(
            (hostId, hash, proof) => deps.hosts.codeProofValid(hostId, hash, proof),
            (hash) => this.functions.code.packagePath(hash),
            log,
          ),
        },
      ],
    };
    this.resolvers = [
      new FunctionResolver(
        this.functions,
        this.invocations,
        this.provisioned,
        secrets,
        deps.logs,
        perRequest(() => createFunctionLoaders(this.functions, this.provisioned)),
      ),
      new LayerResolver(this.layers),
    ];
  }

  readonly channels = {
    [Channel.invocation]: () => this.asyncInvoker.kick(),
    [Channel.functions]: () => this.functions.forget(),
  };

  caughtUp(): void {
    this.functions.forget();
    this.asyncInvoker.kick();
  }

  async prepare(): Promise<void> {
    const { config, log } = this.platform;
    let replayed = 0;
    const swept = await this.runtime.init(async (deadRoot) => {
      replayed += await this.invocations.replay(deadRoot);
    }, this.invocations.logs.committedOf);
    if (swept.length)
      log.info({ roots: swept, invocationRecords: replayed }, 'removed the function runtime roots of servers that are gone');
    // the embedded Postgres owns its dir (and needs DATA_DIR enterable); everything else is the server's
    if (this.runtime.sandbox.isolated) await closeToOthers(config.dataDir, ['postgres']);
  }

  start(): void {
    this.instanceController.start();
    this.instanceController.kick();
    this.asyncInvoker.start();
    this.asyncInvoker.kick();
    this.packageSweeper.start();
  }

  async stop(): Promise<void> {
    await this.packageSweeper.stop();
    await this.asyncInvoker.stop();
    await this.instanceController.stop();
    // the records stored while the journal is still there (closing the runtime removes its root)
    await this.invocations.close();
    await this.acrossHosts.close();
    await this.invocations.logs.close();
  }
}
