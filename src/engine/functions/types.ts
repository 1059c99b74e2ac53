// The engine side of functions: runtime processes speaking the Lambda Runtime API. The services
// decide what runs (which version, whether a concurrency slot is free); a FunctionRuntime runs it.
// It never touches the database: lines and outcomes go back to the caller.

export type RuntimeName = 'NODEJS20' | 'PYTHON311' | 'PROVIDED';

/** Everything an instance needs to run one version of a function. */
export interface InstanceSpec {
  functionId: string;
  functionName: string;
  /** "$LATEST" or a published version number */
  version: string;
  /** changes with every update of $LATEST: instances of an older revision are not reused */
  revisionId: string;
  runtime: RuntimeName;
  handler: string;
  memoryMb: number;
  /** the size of the instance's private /tmp */
  ephemeralStorageMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  /** the S3 endpoint the AWS SDKs in the instance use (AWS_ENDPOINT_URL_S3), and the credentials they
   *  sign with (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; null: none given) */
  s3: { endpointUrl: string; credentials: { accessKeyId: string; secretAccessKey: string } | null };
  /** Lambda's advanced logging controls (loggingConfig): the log format and levels */
  logging: LoggingSpec;
  /** host:port of the X-Ray daemon the SDKs send segments to (AWS_XRAY_DAEMON_ADDRESS); null: none configured */
  xrayDaemonAddress: string | null;
  /** hex sha256 of the code package */
  codeHash: string;
  /** where the package zip is stored (read by the engine to unpack it) */
  packagePath: string;
  /** the layers' zips (hex sha256 and where stored, as the code's), unpacked in order into /opt */
  layers: Array<{ hash: string; packagePath: string }>;
}

export type LogFormat = 'Text' | 'JSON';
export type ApplicationLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
export type SystemLogLevel = 'DEBUG' | 'INFO' | 'WARN';
export interface LoggingSpec {
  format: LogFormat;
  /** JSON only: the runtime writes nothing below it (AWS_LAMBDA_LOG_LEVEL) */
  applicationLogLevel: ApplicationLogLevel;
  /** JSON only: the platform's lines below it are left out */
  systemLogLevel: SystemLogLevel;
}

/** Instances of one spec are interchangeable: this names them. */
export const specKey = (s: InstanceSpec) => `${s.functionId}|${s.version}|${s.revisionId}`;

/** Provisioned concurrency: `count` initialised instances of a spec. `generation` changes when the
 *  setting is written again (a failed provisioning is retried only then). */
export interface ProvisionTarget {
  spec: InstanceSpec;
  count: number;
  generation: string;
}
export interface ProvisionState {
  ready: number;
  starting: number;
  failure: string | null;
}

export interface InvokeRequest {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  clientContext?: string;
  /** the invocation's X-Ray trace id (1-<epoch hex>-<24 hex>); absent: the instance makes one */
  traceId?: string;
  /** where a streamed response goes as it is written (without one, it is kept as the outcome's body) */
  stream?: ResponseStreamSink;
}

/** The receiver of a streamed response (the Runtime API's streaming response mode). */
export interface ResponseStreamSink {
  /** the runtime began streaming, with this Content-Type */
  start(contentType: string): void;
  /** the next bytes; while a returned promise is pending the runtime's following bytes wait (backpressure) */
  write(chunk: Buffer): void | Promise<void>;
}

export type LogStreamName = 'STDOUT' | 'STDERR' | 'SYSTEM';
export interface RuntimeLogLine {
  at: Date;
  stream: LogStreamName;
  text: string;
  /** told once the line's batch is written (or dropped, as a batch the store refuses is): an
   *  instance's output file records how far its lines are done with (output.ts) */
  stored?: () => void;
  /** told the id of the transaction storing the line's batch, just before it commits: an
   *  instance's output file notes it, for a server killed before `stored` (output.ts) */
  committing?: (transactionId: string) => void;
}

export type OutcomeKind = 'RESPONSE' | 'FUNCTION_ERROR' | 'TIMEOUT' | 'OUT_OF_MEMORY' | 'EXIT' | 'INIT_ERROR' | 'RESPONSE_TOO_LARGE';

export interface InvokeOutcome {
  kind: OutcomeKind;
  /** the response body (RESPONSE) or the error document the runtime posted (`{errorType, errorMessage, trace}` from Node, `{errorMessage, errorType, stackTrace}` from Python) or the platform made (`{errorType, errorMessage}`) */
  body: Buffer;
  /** errorType of a failed invocation */
  errorType: string | null;
  /** the runtime's Lambda-Runtime-Function-Error-Type header, when it sent one */
  errorKind: string | null;
  instanceId: string;
  coldStart: boolean;
  initDurationMs: number | null;
  durationMs: number;
  maxMemoryUsedMb: number;
  startedAt: Date;
  endedAt: Date;
  /** this invocation's log, START to REPORT, as Lambda frames it */
  logs: RuntimeLogLine[];
  /** the Content-Type of a streamed response (null: the runtime answered in one piece); its bytes went
   *  to the request's sink, or are the body when it had none */
  streamContentType?: string | null;
}

export interface FunctionRuntime {
  /** Unpacks a package where instances can read it; throws with a user-facing reason if it can't. */
  prepareCode(functionId: string, codeHash: string, packagePath: string): Promise<void>;
  /**
   * Runs one invocation on a warm instance of the spec, or a new one (a cold start). Aborting
   * `signal` kills the instance (the outcome is an EXIT): a server that stops cuts it short.
   */
  invoke(spec: InstanceSpec, request: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome>;
  /**
   * Keeps the targets' instances initialised and ready; instances provisioned for a spec that is no
   * longer a target become ordinary warm instances. Returns the state per spec key.
   */
  provision(targets: ProvisionTarget[]): Promise<Map<string, ProvisionState>>;
  /** Stops idle instances unused for `idleMs`, and every instance of functions not in `keep`. */
  reap(idleMs: number, keep?: (functionId: string, revisionId: string) => boolean): Promise<void>;
  /** Stops every instance of a deleted function and drops its unpacked code. */
  removeFunction(functionId: string): Promise<void>;
  /** Instances per function: busy ones and all. */
  counts(functionId: string): { busy: number; total: number };
  close(): Promise<void>;
}

/** One live instance, as a host daemon reports it (and the API shows it on its host). */
export interface RunningInstance {
  instanceId: string;
  /** specKey of its spec */
  key: string;
  functionId: string;
  functionName: string;
  version: string;
  memoryMb: number;
  state: 'INIT' | 'IDLE' | 'BUSY';
  provisioned: boolean;
}

/** No host has room for a new instance: the invocation is throttled (Lambda's answer when it can't scale). */
export class NoRoomError extends Error {}

/** Every line an instance writes (and the START/END/REPORT lines), as it is written. */
export type LineSink = (functionId: string, lines: RuntimeLogLine[]) => void;
