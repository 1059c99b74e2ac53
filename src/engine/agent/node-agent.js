// @ts-check
// Node agent: one process per cluster instance (docs/agent-protocol.md). It dials the control plane
// over a WebSocket, runs step processes and streams their output. It runs from the package's own
// install on any host (Node.js >= 20; it carries its own minimal WebSocket client, Node 20 has no
// global WebSocket): what it needs of the server's files it fetches over the S3 endpoint.

import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { accessSync, closeSync, constants, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BootstrapFailure, runBootstrapActions } from './bootstrap.js';
import { credentialKey, helloProof, nextCredentialKey, welcomeProof } from './credential.js';
import { startMetrics } from './metrics.js';
import { NodeSandbox } from './node-sandbox.js';
import { masterStatus, SparkNode } from './spark.js';
import { ENGINE_DIR, fetchTarget, parseObjectUri, resolveStepArgs } from './step-args.js';

// Type-only imports: they vanish at run time (types.ts is TypeScript, not part of the agent).
/** @typedef {import('../types.js').AgentMessage} AgentMessage */
/** @typedef {import('../types.js').ControlMessage} ControlMessage */
/** @typedef {import('../types.js').AgentLogLine} LogLine */
/** @typedef {import('../types.js').AgentStream} Stream */
/** @typedef {import('../types.js').AgentStepReport} StepReport */
/** @typedef {import('../types.js').NodeConfig} NodeConfig */
/** @typedef {import('../types.js').NodeEndpoints} NodeEndpoints */
/** @typedef {import('node:net').Socket} Socket */

const MAX_LINE_BYTES = 16 * 1024;
const MAX_UNACKED_LINES = 100_000;
// A step writing faster than the control plane stores is held (its pipes not read, so its writes
// block) rather than its lines dropped: reading stops at this many unstored lines, resumes at half.
const PAUSE_UNACKED_LINES = 50_000;
// Every step gets a pipe of its own for `::progress`/`::result` on this fd (named by
// CLUSTER_CONTROL_FD), so a runner's control lines never mix with the output it forwards.
const CONTROL_FD = 3;
const LOG_FLUSH_MS = 20;
const LOG_BATCH_BYTES = 1024 * 1024;
const LOG_BATCH_LINES = 500;
const PROGRESS_INTERVAL_MS = 50;
const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 2000;
const SIGNAL_GRACE_MS = 2000;
const SPAWN_FAILED_EXIT_CODE = 127;
// A slow control plane must not make the agent hold every line twice (in the queue and in the
// socket buffer): stop writing past this and resume on 'drain'.
const SEND_HIGH_WATER = 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;
// After a step's main process exits, how long its leftovers may keep its output pipes open.
const STRAGGLER_GRACE_MS = 2_000;
// Bounds waits during exit so a wedged process or peer cannot keep the agent alive forever.
const EXIT_FLUSH_MS = 1000;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
// stepId becomes a directory name: anything else could escape <workdir>/steps.
const SAFE_STEP_ID = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,200}$/;

// ---------------------------------------------------------------------------------------------
// Diagnostics: JSON lines on stdout (the launcher redirects it to a file). Never log the token or key.

/**
 * @param {'info'|'warn'|'error'} level
 * @param {string} msg
 * @param {Record<string, unknown>} [fields]
 */
function diag(level, msg, fields = {}) {
  try {
    process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), level, msg, instanceId: config.instanceId, ...fields })}\n`);
  } catch {
    // Diagnostics must never take the agent down (e.g. a full disk).
  }
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** @param {string | undefined} raw @param {number} fallback */
function positiveNumber(raw, fallback) {
  const n = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * The join secret comes on a file descriptor the launcher writes and closes (AGENT_TOKEN_FD): an
 * environment variable would stay readable by the agent's own step processes in
 * /proc/<agent>/environ. AGENT_TOKEN is accepted for agents started by hand on other hosts.
 * @param {NodeJS.ProcessEnv} env
 */
function readToken(env) {
  const fd = Number(env.AGENT_TOKEN_FD);
  if (env.AGENT_TOKEN_FD && Number.isInteger(fd) && fd > 2) {
    try {
      return readFileSync(fd, 'utf8').trim();
    } catch {
      return '';
    } finally {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  }
  return env.AGENT_TOKEN ?? '';
}

/** @param {NodeJS.ProcessEnv} env */
function readConfig(env) {
  const urls = (env.AGENT_CONTROL_PLANE_URLS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  /** @type {string[]} */
  const problems = [];
  if (urls.length === 0) problems.push('AGENT_CONTROL_PLANE_URLS is empty');
  for (const u of urls) {
    let ok = false;
    try {
      const p = new URL(u).protocol;
      ok = p === 'ws:' || p === 'wss:';
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`not a ws:// or wss:// URL: ${u}`);
  }
  if (!env.AGENT_INSTANCE_ID) problems.push('AGENT_INSTANCE_ID is empty');
  const token = readToken(env);
  if (!token) problems.push('no join token (AGENT_TOKEN_FD or AGENT_TOKEN)');
  return {
    urls,
    instanceId: env.AGENT_INSTANCE_ID ?? '',
    // only the key derived from the join secret is kept, in memory; it changes at every welcome
    credential: token ? credentialKey(token) : '',
    workdir: path.resolve(env.AGENT_WORKDIR || process.cwd()),
    heartbeatMs: positiveNumber(env.AGENT_HEARTBEAT_MS, 2000),
    // setTimeout overflows past 2^31-1 ms and would then fire immediately.
    orphanMs: Math.min(positiveNumber(env.AGENT_ORPHAN_SECONDS, 300) * 1000, 2 ** 31 - 1),
    problems,
  };
}

const config = readConfig(process.env);
// Steps inherit the agent's environment; the join secret must not reach them.
delete process.env.AGENT_TOKEN;
delete process.env.AGENT_TOKEN_FD;
// every piece of tenant code on this node runs in it (node-sandbox.js)
const sandbox = new NodeSandbox(process.env, config.workdir);

// ---------------------------------------------------------------------------------------------
// Minimal RFC 6455 client: text messages, fragmentation, ping/pong, close. No extensions.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

class WsClient {
  /** @param {Socket} socket @param {Buffer} head */
  constructor(socket, head) {
    this.socket = socket;
    this.head = head;
    /** @type {Buffer} */
    this.buf = Buffer.alloc(0);
    /** @type {Buffer[]} */
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOpcode = 0;
    this.open = true;
    this.closeSent = false;
    // After a close frame or a protocol error nothing further from the peer is meaningful.
    this.stopReading = false;
    this.lastReceivedAt = Date.now();
    /** @type {(text: string) => void} */
    this.onMessage = () => {};
    /** @type {() => void} */
    this.onClose = () => {};
    /** @type {() => void} */
    this.onDrain = () => {};
    /** @type {NodeJS.Timeout | undefined} */
    this.closeTimer = undefined;
  }

  /** Attach after the handlers are set: data that came with the upgrade response is parsed here. */
  start() {
    const s = this.socket;
    s.setNoDelay(true);
    s.setKeepAlive(true, 10_000);
    s.on('data', (/** @type {Buffer} */ chunk) => this.receive(chunk));
    s.on('drain', () => this.onDrain());
    s.on('error', (err) => diag('warn', 'websocket error', { error: errorText(err) }));
    s.on('close', () => this.closed());
    if (this.head.length) this.receive(this.head);
  }

  get bufferedAmount() {
    return this.socket.writableLength;
  }

  /** @param {string} text */
  sendText(text) {
    this.sendFrame(0x1, Buffer.from(text, 'utf8'));
  }

  ping() {
    this.sendFrame(0x9, Buffer.alloc(0));
  }

  /** @param {number} [code] @param {string} [reason] */
  close(code = 1000, reason = '') {
    if (!this.open) return;
    if (!this.closeSent) {
      const r = Buffer.from(reason, 'utf8').subarray(0, 123);
      const payload = Buffer.alloc(2 + r.length);
      payload.writeUInt16BE(code, 0);
      r.copy(payload, 2);
      this.sendFrame(0x8, payload);
      this.closeSent = true;
    }
    // The server closes TCP after answering our close frame; don't wait for a silent one forever.
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), EXIT_FLUSH_MS);
  }

  destroy() {
    this.socket.destroy();
  }

  /** @param {number} opcode @param {Buffer} payload */
  sendFrame(opcode, payload) {
    if (!this.open || this.closeSent || this.socket.destroyed) return;
    const len = payload.length;
    const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerLen + 4 + len);
    frame[0] = 0x80 | opcode;
    if (len < 126) {
      frame[1] = 0x80 | len;
    } else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    // Clients must mask (RFC 6455 5.3) or the server drops the connection.
    const mask = randomBytes(4);
    mask.copy(frame, headerLen);
    const off = headerLen + 4;
    for (let i = 0; i < len; i++) frame[off + i] = payload[i] ^ mask[i & 3];
    this.socket.write(frame);
  }

  /** @param {Buffer} chunk */
  receive(chunk) {
    this.lastReceivedAt = Date.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.open && !this.stopReading && !this.socket.destroyed) {
      const buf = this.buf;
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      if (buf[0] & 0x70) return this.fail(1002, 'reserved bits set');
      if (buf[1] & 0x80) return this.fail(1002, 'masked server frame');
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE_BYTES)) return this.fail(1009, 'frame too large');
        len = Number(big);
        off = 10;
      }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len);
      this.buf = buf.subarray(off + len);
      this.frame(fin, opcode, payload);
    }
  }

  /** @param {boolean} fin @param {number} opcode @param {Buffer} payload */
  frame(fin, opcode, payload) {
    if (opcode >= 0x8) {
      // Control frames may arrive between the fragments of a message.
      if (!fin || payload.length > 125) return this.fail(1002, 'bad control frame');
      if (opcode === 0x8) {
        this.stopReading = true;
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1000;
        if (!this.closeSent) {
          // Echo a sendable code: 1005/1006/1015 are reserved for "no code" and must not be sent.
          this.close(code === 1005 || code === 1006 || code === 1015 || code < 1000 ? 1000 : code);
        }
        this.socket.end();
      } else if (opcode === 0x9) {
        this.sendFrame(0xa, Buffer.from(payload));
      } else if (opcode !== 0xa) {
        this.fail(1002, 'unknown control opcode');
      }
      return;
    }
    if (opcode === 0x0) {
      if (!this.fragmentOpcode) return this.fail(1002, 'continuation without a message');
    } else if (opcode === 0x1 || opcode === 0x2) {
      if (this.fragmentOpcode) return this.fail(1002, 'new message inside a fragmented one');
      this.fragmentOpcode = opcode;
    } else {
      return this.fail(1002, 'unknown opcode');
    }
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > MAX_MESSAGE_BYTES) return this.fail(1009, 'message too large');
    // Copy: the payload is a view into a receive buffer that will be concatenated over.
    this.fragments.push(Buffer.from(payload));
    if (!fin) return;
    const data = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments);
    const kind = this.fragmentOpcode;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOpcode = 0;
    if (kind !== 0x1) {
      diag('warn', 'ignoring binary websocket message', { bytes: data.length });
      return;
    }
    let text;
    try {
      text = utf8Strict.decode(data);
    } catch {
      return this.fail(1007, 'invalid UTF-8');
    }
    this.onMessage(text);
  }

  /** @param {number} code @param {string} reason */
  fail(code, reason) {
    diag('warn', 'websocket protocol error', { code, reason });
    this.stopReading = true;
    this.close(code, reason);
    this.socket.end();
  }

  closed() {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.closeTimer);
    this.onClose();
  }
}

/**
 * @param {string} urlText
 * @returns {Promise<WsClient>}
 */
function connectWebSocket(urlText) {
  return new Promise((resolve, reject) => {
    const url = new URL(urlText);
    const secure = url.protocol === 'wss:';
    const key = randomBytes(16).toString('base64');
    const req = (secure ? https : http).request({
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
      },
    });
    const timer = setTimeout(() => req.destroy(new Error('websocket handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      const expected = createHash('sha1')
        .update(key + WS_GUID)
        .digest('base64');
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        reject(new Error('bad Sec-WebSocket-Accept'));
      } else if (res.headers['sec-websocket-extensions']) {
        // We offered none, so we cannot decode frames shaped by one.
        socket.destroy();
        reject(new Error('server selected an extension that was not offered'));
      } else {
        resolve(new WsClient(socket, head));
      }
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Output handling: bytes → lines → sanitized strings.

// Non-fatal: invalid UTF-8 becomes U+FFFD. ignoreBOM keeps a leading U+FEFF as output content.
const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
// C0 (except tab), DEL and C1: NUL breaks Postgres text, the rest garble terminals and viewers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** @param {Buffer} buf */
function decodeLine(buf) {
  return utf8Lossy.decode(buf).replace(CONTROL_CHARS, '\uFFFD');
}

/**
 * Bytes at the end of `buf` that start a multi-byte UTF-8 character without finishing it; cutting
 * a long line there would otherwise leave a U+FFFD that was not in the output.
 * @param {Buffer} buf
 */
function incompleteUtf8Tail(buf) {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const b = buf[buf.length - i];
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}

class LineSplitter {
  /** @param {(text: string) => void} emit */
  constructor(emit) {
    this.emit = emit;
    /** @type {Buffer[]} */
    this.parts = [];
    this.size = 0;
    // Bytes of the current line past MAX_LINE_BYTES: counted, never kept.
    this.dropped = 0;
  }

  /** @param {Buffer} chunk */
  write(chunk) {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      this.take(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.endLine();
      start = nl + 1;
    }
  }

  /** A last line without a newline still counts. */
  end() {
    if (this.size > 0 || this.dropped > 0) this.endLine();
  }

  /** @param {Buffer} piece */
  take(piece) {
    if (piece.length === 0) return;
    const room = MAX_LINE_BYTES - this.size;
    if (this.dropped > 0 || room <= 0) {
      this.dropped += piece.length;
      return;
    }
    const kept = piece.length <= room ? piece : piece.subarray(0, room);
    // Copy so a retained 16 KiB head does not pin a whole 64 KiB read buffer.
    this.parts.push(Buffer.from(kept));
    this.size += kept.length;
    this.dropped += piece.length - kept.length;
  }

  endLine() {
    let buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    let dropped = this.dropped;
    if (dropped > 0) {
      const cut = incompleteUtf8Tail(buf);
      buf = buf.subarray(0, buf.length - cut);
      dropped += cut;
    } else if (buf.length > 0 && buf[buf.length - 1] === 0x0d) {
      // CRLF output is one line ending, not a control character inside the line.
      buf = buf.subarray(0, buf.length - 1);
    }
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
    let text = decodeLine(buf);
    if (dropped > 0) text += ` …[truncated ${dropped} bytes]`;
    this.emit(text);
  }
}

const PROGRESS_LINE = /^::progress[ \t]+([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(%?)[ \t]*$/;

/** @param {string} text @returns {number | null} */
function parseProgress(text) {
  const m = PROGRESS_LINE.exec(text);
  if (!m) return null;
  let value = Number(m[1]);
  if (m[2] === '%') value /= 100;
  if (!Number.isFinite(value)) return null;
  return Math.min(1, Math.max(0, value));
}

const RESULT_PREFIX = '::result ';
const MAX_RESULT_BYTES = 65_536;

/** `::result {json object}`: the step's outcome in figures (e.g. rows written). @param {string} text */
function parseResult(text) {
  if (!text.startsWith(RESULT_PREFIX) || Buffer.byteLength(text) > MAX_RESULT_BYTES) return null;
  try {
    const value = JSON.parse(text.slice(RESULT_PREFIX.length));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Unacknowledged lines of one step, oldest first; a moving head keeps drops and acks O(1). */
class LineQueue {
  constructor() {
    /** @type {LogLine[]} */
    this.items = [];
    this.head = 0;
  }

  get length() {
    return this.items.length - this.head;
  }

  /** @param {LogLine} line */
  push(line) {
    this.items.push(line);
  }

  dropOldest() {
    if (this.length > 0) this.head++;
    this.compact();
  }

  /** Index of the first line with a seq above `seq`. @param {number} seq */
  indexAfter(seq) {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @param {number} seq */
  ackThrough(seq) {
    this.head = this.indexAfter(seq);
    this.compact();
  }

  /** @param {number} seq @param {number} max */
  after(seq, max) {
    const i = this.indexAfter(seq);
    return this.items.slice(i, i + max);
  }

  compact() {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Steps

/**
 * @typedef {object} Step
 * @property {string} stepId
 * @property {number | null} pid also the process group id (steps are group leaders)
 * @property {'running' | 'exited'} state
 * @property {number} lastSeq seq of the newest line
 * @property {LineQueue} unacked
 * @property {number} sentSeq newest seq written to the current connection
 * @property {number} dropped lines dropped by the cap and not yet reported
 * @property {number} lostLines every line dropped by the cap (the step fails for it)
 * @property {import('node:stream').Readable[]} outputs the step's pipes, paused while too much is unstored
 * @property {boolean} paused
 * @property {number | null} exitCode
 * @property {string | null} signal
 * @property {number} exitAt
 * @property {boolean} exitSent stepExited written to the current connection
 * @property {number | undefined} progress
 * @property {Record<string, unknown> | null} result the last `::result` directive, sent with the exit
 * @property {number | undefined} progressSent
 * @property {number} progressSentAt
 * @property {NodeJS.Timeout | null} progressTimer
 * @property {Set<NodeJS.Signals>} signalled the signals the agent sent it (cancel, shutdown)
 */

/** @type {Map<string, Step>} in start order, which is the order lines are resent in */
const steps = new Map();
/** @type {Set<() => void>} */
const exitWaiters = new Set();

/** @param {string} stepId @returns {Step} */
function newStep(stepId) {
  return {
    stepId,
    pid: null,
    state: 'running',
    lastSeq: 0,
    unacked: new LineQueue(),
    sentSeq: 0,
    dropped: 0,
    lostLines: 0,
    outputs: [],
    paused: false,
    exitCode: null,
    signal: null,
    exitAt: 0,
    exitSent: false,
    progress: undefined,
    result: null,
    progressSent: undefined,
    progressSentAt: 0,
    progressTimer: null,
    signalled: new Set(),
  };
}

/** @param {Step} step @param {Stream} stream @param {string} text */
function appendLine(step, stream, text) {
  if (step.unacked.length >= MAX_UNACKED_LINES) {
    step.unacked.dropOldest();
    step.dropped++;
    step.lostLines++;
  }
  step.lastSeq++;
  step.unacked.push({ seq: step.lastSeq, at: Date.now(), stream, text });
  if (!step.paused && step.unacked.length >= PAUSE_UNACKED_LINES) {
    step.paused = true;
    for (const s of step.outputs) s.pause();
    diag('info', 'step output paused until its lines are stored', { stepId: step.stepId, unacked: step.unacked.length });
  }
  if (step.lastSeq - step.sentSeq >= LOG_BATCH_LINES) pump();
  else schedulePump();
}

/** One SYSTEM line per flush instead of one per dropped line. @param {Step} step */
function reportDropped(step) {
  if (step.dropped === 0) return;
  if (step.unacked.length >= MAX_UNACKED_LINES) {
    step.unacked.dropOldest();
    step.dropped++;
    step.lostLines++;
  }
  const n = step.dropped;
  step.dropped = 0;
  step.lastSeq++;
  step.unacked.push({
    seq: step.lastSeq,
    at: Date.now(),
    stream: 'SYSTEM',
    text: `dropped ${n} unacknowledged log lines (limit ${MAX_UNACKED_LINES} per step)`,
  });
}

/** @param {Step} step @param {number} value */
function setProgress(step, value) {
  step.progress = value;
  if (step.progressTimer) return;
  const wait = step.progressSentAt + PROGRESS_INTERVAL_MS - Date.now();
  if (wait <= 0) {
    sendProgress(step);
  } else {
    step.progressTimer = setTimeout(() => {
      step.progressTimer = null;
      sendProgress(step);
    }, wait);
  }
}

/** @param {Step} step */
function sendProgress(step) {
  if (!isSessionUp() || step.progress === undefined || step.progress === step.progressSent) return;
  send({ type: 'progress', stepId: step.stepId, value: step.progress });
  step.progressSent = step.progress;
  step.progressSentAt = Date.now();
}

/** @param {Step} step @param {number | null} exitCode @param {string | null} signal */
function finishStep(step, exitCode, signal) {
  if (step.state === 'exited') return;
  step.state = 'exited';
  step.exitCode = exitCode;
  step.signal = signal;
  step.exitAt = Date.now();
  // Report drops now so stepExited.lastSeq (and hello) already count the notice.
  reportDropped(step);
  if (step.progressTimer) {
    clearTimeout(step.progressTimer);
    step.progressTimer = null;
  }
  diag('info', 'step exited', { stepId: step.stepId, pid: step.pid, exitCode, signal, lastSeq: step.lastSeq });
  pump();
  for (const w of exitWaiters) w();
}

/** @param {Step} step @param {string} message */
function failStep(step, message) {
  diag('warn', 'step failed to start', { stepId: step.stepId, error: message });
  appendLine(step, 'SYSTEM', message);
  finishStep(step, SPAWN_FAILED_EXIT_CODE, null);
}

/** @param {Extract<ControlMessage, { type: 'runStep' }>} msg */
function runStep(msg) {
  const { stepId, args } = msg;
  if (typeof stepId !== 'string' || stepId === '') {
    diag('warn', 'runStep without a stepId ignored');
    return;
  }
  if (steps.has(stepId)) {
    diag('info', 'runStep for a known step ignored', { stepId });
    return;
  }
  if (shuttingDown) {
    diag('warn', 'runStep during shutdown ignored', { stepId });
    return;
  }
  const step = newStep(stepId);
  steps.set(stepId, step);
  if (!SAFE_STEP_ID.test(stepId)) return failStep(step, `invalid step id: ${JSON.stringify(stepId)}`);
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
    return failStep(step, 'invalid args: expected a non-empty array of strings');
  }
  /** @type {string[]} */
  let argv;
  try {
    // the node and runners of this host's install, whichever host that is
    argv = resolveStepArgs(args, { node: process.execPath, engineDir: ENGINE_DIR, python: nodePython });
  } catch (err) {
    return failStep(step, `invalid args: ${errorText(err)}`);
  }
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, CLUSTER_STEP_ID: stepId, CLUSTER_INSTANCE_ID: config.instanceId, CLUSTER_CONTROL_FD: String(CONTROL_FD) };
  if (msg.env && typeof msg.env === 'object') {
    for (const [k, v] of Object.entries(msg.env)) env[k] = String(v);
  }
  const cwd = path.join(sandbox.nodeDir, 'steps', stepId);
  const wanted = msg.fetch ?? [];
  /** @type {Array<{ uri: string, file: string }>} */
  let fetches;
  try {
    if (!Array.isArray(wanted)) throw new Error('expected an array of { uri, path }');
    fetches = wanted.map((f) => {
      parseObjectUri(f?.uri);
      return { uri: f.uri, file: fetchTarget(cwd, f.path) };
    });
  } catch (err) {
    return failStep(step, `invalid fetch: ${errorText(err)}`);
  }
  if (fetches.length === 0) return startStep(step, msg, argv, env, cwd);
  // the step counts as running (a reconnect reports it) while its objects come; then it starts
  void (async () => {
    for (const { uri, file } of fetches) {
      await fetchInto(nodeS3, uri, file);
      diag('info', 'fetched for step', { stepId, uri });
    }
  })().then(
    () => {
      // cancelled or the agent stopping meanwhile: finished already
      if (step.state === 'running') startStep(step, msg, argv, env, cwd);
    },
    (err) => {
      if (step.state === 'running') failStep(step, `cannot fetch ${errorText(err)}`);
    },
  );
}

/**
 * Starts a step's process in the node's sandbox (its args resolved, its objects fetched).
 * @param {Step} step @param {Extract<ControlMessage, { type: 'runStep' }>} msg @param {string[]} args
 * @param {NodeJS.ProcessEnv} env @param {string} cwd
 */
function startStep(step, msg, args, env, cwd) {
  const { stepId } = step;
  /** @type {import('node:child_process').ChildProcess & { stdout: import('node:stream').Readable, stderr: import('node:stream').Readable }} */
  let child;
  try {
    // inside a sandbox a missing program would only be a shell's complaint: say it as spawn would
    if (sandbox.enabled && !findProgram(args[0], String(env.PATH ?? ''))) throw new Error(`spawn ${args[0]} ENOENT`);
    // on a SPARK node with the catalog: its configuration, warehouse and event logs too
    const mounts = [...(Array.isArray(msg.mounts) ? msg.mounts : []), ...(sparkNode?.sparkMounts() ?? [])];
    const warm = mounts.length === 0 ? sandbox.startWarm(args, cwd, env) : null;
    if (warm) {
      child = /** @type {typeof child} */ (/** @type {unknown} */ (warm));
    } else {
      const run = sandbox.command(args, { cwd, mounts });
      // detached: a new session and process group per step, so a signal to -pid reaches the tree.
      child = /** @type {typeof child} */ (
        spawn(run.file, run.args, { cwd: run.cwd, env: sandbox.env(env), detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
      );
    }
    // the next steps' sandboxes, ready long before a next step comes (made at its exit, one would
    // still be setting up when a step follows at once)
    setImmediate(() => {
      if (!shuttingDown) sandbox.prewarm(process.env, warmSandboxes);
    });
  } catch (err) {
    return failStep(step, `cannot start ${args[0]}: ${errorText(err)}`);
  }
  const pid = child.pid;
  if (pid === undefined) {
    // ENOENT/EACCES are reported asynchronously; the 'close' that may follow carries no real status.
    child.once('error', (err) => failStep(step, `cannot start ${args[0]}: ${errorText(err)}`));
    child.stdout.on('error', () => {});
    child.stderr.on('error', () => {});
    return;
  }
  step.pid = pid;
  const oomKillsBefore = sandbox.oomKills();
  diag('info', 'step started', { stepId, pid });
  send({ type: 'stepStarted', stepId, pid, at: Date.now() });

  /** `::progress`/`::result` directives; anything else is a line of `stream` @param {Stream} stream */
  const directivesOr = (stream) =>
    new LineSplitter((text) => {
      const value = parseProgress(text);
      if (value !== null) return setProgress(step, value);
      const result = parseResult(text);
      if (result === null) return appendLine(step, stream, text);
      step.result = result;
      // seen while the step runs (a Spark driver's UI); lost if the session is down, resent at the exit
      if (isSessionUp()) send({ type: 'stepResult', stepId: step.stepId, result });
    });
  const control = /** @type {import('node:stream').Readable} */ (child.stdio[CONTROL_FD]);
  /** @type {[import('node:stream').Readable, LineSplitter, string][]} */
  const pipes = [
    // (stdout keeps `::progress` for user commands, as documented)
    [child.stdout, directivesOr('STDOUT'), 'stdout'],
    [child.stderr, new LineSplitter((text) => appendLine(step, 'STDERR', text)), 'stderr'],
    [control, directivesOr('STDOUT'), 'control'],
  ];
  for (const [pipe, lines, name] of pipes) {
    pipe.on('data', (/** @type {Buffer} */ chunk) => lines.write(chunk));
    pipe.on('error', (e) => diag('warn', `step ${name} error`, { stepId, error: errorText(e) }));
  }
  step.outputs = pipes.map(([pipe]) => pipe);
  child.on('error', (e) => diag('warn', 'step process error', { stepId, error: errorText(e) }));
  let ended = false;
  /** @type {NodeJS.Timeout | undefined} */
  let stragglerTimer;
  /** @param {number | null} code @param {NodeJS.Signals | null} signal */
  const end = (code, signal) => {
    if (ended) return;
    ended = true;
    clearTimeout(stragglerTimer);
    for (const [, lines] of pipes) lines.end();
    // the node's limit group hit its memory (the control plane fails and replaces the node)
    if (sandbox.oomKills() > oomKillsBefore) appendLine(step, 'SYSTEM', 'The node ran out of memory: the kernel killed a process');
    // bwrap passes a signal's end on as 128 + its number: the one the agent sent is said as such
    const sent =
      sandbox.enabled && signal === null && code !== null
        ? [...step.signalled].find((sig) => os.constants.signals[sig] === code - 128)
        : undefined;
    if (sent) finishStep(step, null, sent);
    else finishStep(step, code, signal);
  };
  // 'close' comes after 'exit' and after both pipes are drained: only then is all output read.
  child.on('close', end);
  // A background process the step left behind can hold its pipes open forever. The step is over
  // when its main process is: leftovers in its group are stopped, and anything that escaped the
  // group (setsid) no longer delays the exit report.
  child.on('exit', (code, signal) => {
    stragglerTimer = setTimeout(() => {
      diag('info', 'stopping processes the step left running', { stepId, pid });
      // (a sandbox ends with its first process: nothing of it is left to stop)
      if (!sandbox.enabled) signalGroup(pid, 'SIGKILL');
      stragglerTimer = setTimeout(() => {
        for (const [pipe] of pipes) pipe.destroy();
        end(code, signal);
      }, STRAGGLER_GRACE_MS);
    }, STRAGGLER_GRACE_MS);
  });
}

/** @param {number | null} pgid @param {NodeJS.Signals} signal */
function signalGroup(pgid, signal) {
  // kill(-1) would signal every process we may signal; kill(-0) our own group.
  if (pgid === null || pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    if (code !== 'ESRCH') diag('warn', 'kill failed', { pgid, signal, error: errorText(err) });
  }
}

/** @param {unknown} ms @param {number} fallback */
function graceOf(ms, fallback) {
  const n = Number(ms);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 2 ** 31 - 1) : fallback;
}

/** @param {string} stepId @param {unknown} graceMs */
function cancelStep(stepId, graceMs) {
  const step = steps.get(stepId);
  if (step?.state === 'running' && step.pid === null) {
    // still fetching its objects: it never starts
    diag('info', 'cancelling step before it started', { stepId });
    return finishStep(step, null, 'SIGTERM');
  }
  if (step?.state !== 'running' || step.pid === null) {
    diag('info', 'cancelStep for a step that is not running ignored', { stepId });
    return;
  }
  const pid = step.pid;
  const grace = graceOf(graceMs, SIGNAL_GRACE_MS);
  diag('info', 'cancelling step', { stepId, pid, graceMs: grace });
  stopStep(step, 'SIGTERM');
  // Unconditional: group members may outlive the leader, and ESRCH is harmless.
  setTimeout(() => stopStep(step, 'SIGKILL'), grace);
}

/**
 * Signals a step's processes: its sandbox's (a graceful TERM reaches every process inside, KILL
 * ends the sandbox), or its process group when unconfined.
 * @param {Step} step @param {NodeJS.Signals} signal
 */
function stopStep(step, signal) {
  if (step.pid === null) return;
  step.signalled.add(signal);
  // a sandbox's pid is bwrap's: once the step has exited, it may belong to someone else
  if (sandbox.enabled) {
    if (step.state === 'running') sandbox.signal(step.pid, signal);
  } else {
    signalGroup(step.pid, signal);
  }
}

/** Whether `program` (a name looked up in `pathList`, or a path) exists as something to run. @param {string} program @param {string} pathList */
function findProgram(program, pathList) {
  const candidates = program.includes('/')
    ? [program]
    : pathList
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, program));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** @param {Step[]} list @param {number} ms */
function waitForSteps(list, ms) {
  return new Promise((resolve) => {
    const check = () => {
      if (list.every((s) => s.state === 'exited')) done();
    };
    const done = () => {
      clearTimeout(timer);
      exitWaiters.delete(check);
      resolve(undefined);
    };
    const timer = setTimeout(done, ms);
    exitWaiters.add(check);
    check();
  });
}

/** TERM every step group, KILL after `graceMs`. @param {number} graceMs */
async function stopAllSteps(graceMs) {
  for (const s of steps.values()) if (s.state === 'running' && s.pid === null) finishStep(s, null, 'SIGTERM');
  const running = [...steps.values()].filter((s) => s.state === 'running' && s.pid !== null);
  if (running.length === 0) return;
  for (const s of running) stopStep(s, 'SIGTERM');
  await waitForSteps(running, graceMs);
  for (const s of running) stopStep(s, 'SIGKILL');
  // Pipes close once the groups are gone, unless something outside a group still holds one.
  await waitForSteps(running, EXIT_FLUSH_MS);
}

// ---------------------------------------------------------------------------------------------
// Control plane session

/** @type {WsClient | null} */
let conn = null;
let welcomed = false;
/** the current connection's challenge, once received (its hello is sent then) @type {string | null} */
let challengeNonce = null;
let shuttingDown = false;
/** @type {NodeJS.Timeout | null} */
let pumpTimer = null;
/** @type {NodeJS.Timeout | null} */
let orphanTimer = null;
/** @type {Promise<NodeEndpoints> | null} */
let bootstrapped = null;
/** @type {SparkNode | null} */
let sparkNode = null;
/** the node's S3 credential (its welcome's), which fetches a step's objects @type {import('../types.js').NodeS3 | null} */
let nodeS3 = null;
/** the python3 of this node's host install ({{python}} in a step's args), from the welcome @type {string | null} */
let nodePython = null;
/** how many sandboxes are kept started ahead for the next steps (NodeSandbox.prewarm) */
let warmSandboxes = 1;
/** @type {(() => void) | null} */
let stopMetrics = null;

function isSessionUp() {
  return conn !== null && welcomed && conn.open && !conn.closeSent;
}

/** Only while connected; anything that matters is kept per step and resent after a reconnect. @param {AgentMessage} msg */
function send(msg) {
  if (!isSessionUp() && msg.type !== 'hello') return;
  conn?.sendText(JSON.stringify(msg));
}

/**
 * A batch also stays under LOG_BATCH_BYTES (at least one line): 500 lines of 16 KiB of escaped or
 * replaced characters would exceed what the control plane accepts in one message.
 * @param {LogLine[]} lines
 */
function withinBytes(lines) {
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    // worst case: every UTF-16 unit takes 3 bytes in UTF-8 or 6 when JSON-escaped; 64 for the rest
    bytes += lines[i].text.length * 6 + 64;
    if (bytes > LOG_BATCH_BYTES && i > 0) return lines.slice(0, i);
  }
  return lines;
}

let lastPumpAt = 0;

// Sparse output goes out at once; a chatty step is batched, at most one flush per LOG_FLUSH_MS.
function schedulePump() {
  pumpTimer ??= setTimeout(pump, Math.max(0, lastPumpAt + LOG_FLUSH_MS - Date.now()));
}

/** Writes unsent lines, then final progress and stepExited of steps whose lines are all written. */
function pump() {
  if (pumpTimer) {
    clearTimeout(pumpTimer);
    pumpTimer = null;
  }
  lastPumpAt = Date.now();
  const ws = conn;
  if (!ws || !isSessionUp()) return;
  for (const step of steps.values()) {
    reportDropped(step);
    for (;;) {
      if (ws.bufferedAmount > SEND_HIGH_WATER) return; // 'drain' calls pump again
      const lines = withinBytes(step.unacked.after(step.sentSeq, LOG_BATCH_LINES));
      if (lines.length === 0) break;
      send({ type: 'log', stepId: step.stepId, lines });
      step.sentSeq = lines[lines.length - 1].seq;
    }
  }
  for (const step of steps.values()) {
    if (step.state !== 'exited' || step.exitSent) continue;
    if (ws.bufferedAmount > SEND_HIGH_WATER) return;
    sendProgress(step);
    send({
      type: 'stepExited',
      stepId: step.stepId,
      exitCode: step.exitCode,
      signal: step.signal,
      at: step.exitAt,
      lastSeq: step.lastSeq,
      result: step.result,
      lostLines: step.lostLines,
    });
    step.exitSent = true;
  }
}

/** @returns {StepReport[]} */
function stepReports() {
  return [...steps.values()].map((s) =>
    s.state === 'running'
      ? { stepId: s.stepId, pid: s.pid, state: 'running', lastSeq: s.lastSeq }
      : { stepId: s.stepId, pid: s.pid, state: 'exited', lastSeq: s.lastSeq, exitCode: s.exitCode, signal: s.signal },
  );
}

/**
 * The cluster's S3 credential as the AWS SDKs and CLI read it (AWS_ENDPOINT_URL_S3 points S3
 * clients alone at the control plane), for every process of the node: bootstrap actions, steps
 * (boto3, the aws CLI, the SQL runner's httpfs) and Spark's daemons. Like an EMR node's instance
 * profile: code on the node may use it, and it is this cluster's only.
 * @param {import('../types.js').NodeS3} s3 @returns {Record<string, string>}
 */
function s3Env(s3) {
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_DEFAULT_REGION: s3.region,
    // nothing on the node is an EC2 instance: no SDK should wait on a metadata service
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * Fetches the object `uri` into `file` of the node's directory (fetch-object.js, loaded on first use:
 * the AWS SDK's signer costs a node that never fetches, one sharing the server's disk, nothing).
 * @param {import('../types.js').NodeS3 | null} s3 @param {string} uri @param {string} file
 */
async function fetchInto(s3, uri, file) {
  const { fetchObject } = await import('./fetch-object.js');
  return fetchObject({ s3, uri, file, sandbox, env: process.env });
}

/**
 * Makes the node what the control plane says it is (the `node` of the first welcome): bootstrap
 * actions in order, then the node's daemons (Spark), then metrics. The control plane treats the
 * node as usable only after `ready`, which waits for this.
 * @param {NodeConfig | undefined} node
 * @returns {Promise<NodeEndpoints>}
 */
async function bootstrap(node) {
  if (!node) return {};
  const log = (/** @type {string} */ msg, /** @type {Record<string, unknown>} */ fields = {}) => diag('info', msg, fields);
  if (sandbox.problem) throw new Error(sandbox.problem);
  nodeS3 = node.s3 ?? null;
  nodePython = node.python ?? null;
  if (node.s3) Object.assign(process.env, s3Env(node.s3));
  await runBootstrapActions(node.bootstrapActions ?? [], {
    fetch: (uri, file) => fetchInto(node.s3 ?? null, uri, file),
    workdir: config.workdir,
    python: node.python,
    log,
    sandbox,
    env: { ...process.env, CLUSTER_INSTANCE_ID: config.instanceId },
  });
  /** @type {NodeEndpoints} */
  let endpoints = {};
  if (node.spark && !shuttingDown) {
    sparkNode = new SparkNode(node.spark, {
      role: node.role,
      vcpu: node.vcpu,
      memoryMb: node.memoryMb,
      workdir: config.workdir,
      s3: node.s3 ?? null,
      log,
      sandbox,
      onDaemonExit: (name, code, signal) => {
        // the node is no use without its daemon: leaving lets the control plane replace it
        diag('error', 'spark daemon exited', { name, code, signal });
        void exitAgent(4, SIGNAL_GRACE_MS, `${name} exited`);
      },
    });
    endpoints = await sparkNode.start();
    // steps (spark-submit) reach the cluster's Spark through these
    Object.assign(process.env, sparkNode.stepEnv());
  }
  // steps run on the master: two sandboxes wait there, so that back-to-back steps never wait for one
  warmSandboxes = node.role === 'MASTER' ? 2 : 1;
  sandbox.prewarm(process.env, warmSandboxes);
  const spark = sparkNode;
  const masterWebUrl = spark?.isMaster ? spark.masterWebUrl : null;
  stopMetrics = startMetrics({
    intervalMs: positiveNumber(process.env.AGENT_METRICS_MS, node.metricsMs || 5000),
    send: (m) => send({ type: 'metrics', ...m }),
    sparkStatus: masterWebUrl ? () => masterStatus(masterWebUrl) : null,
  });
  return endpoints;
}

/** Reports a failed bootstrap, or keeps the node going if something else broke. @param {unknown} err */
function bootstrapError(err) {
  if (sandbox.oomKills() > 0) {
    // not the action's fault: the node is over its memory, and the control plane fails it for that
    diag('error', 'bootstrap failed: the node ran out of memory', { error: errorText(err) });
    return;
  }
  if (err instanceof BootstrapFailure) {
    diag('error', 'bootstrap failed', { action: err.action, exitCode: err.exitCode });
    send({ type: 'bootstrapFailed', action: err.action, exitCode: err.exitCode, logTail: err.logTail });
  } else {
    diag('error', 'bootstrap failed', { error: errorText(err) });
    send({ type: 'bootstrapFailed', action: 'node start-up', exitCode: null, logTail: [errorText(err)] });
  }
}

/** SIGUSR2 from the driver: drain the node's Spark worker, then leave (docs/agent-protocol.md). */
async function decommission() {
  if (shuttingDown) return;
  diag('info', 'decommission requested');
  await sparkNode?.decommission();
  await exitAgent(0, SIGNAL_GRACE_MS, 'decommissioned');
}

function startOrphanTimer() {
  if (orphanTimer || shuttingDown) return;
  orphanTimer = setTimeout(() => {
    diag('error', 'no control plane for too long: stopping steps', { orphanMs: config.orphanMs });
    void exitAgent(3, SIGNAL_GRACE_MS, 'orphaned');
  }, config.orphanMs);
}

/**
 * @param {WsClient} ws @param {string} url @param {NodeConfig | undefined} node
 * @param {unknown} proof the control plane's proof that it knows our key (docs/agent-protocol.md "Credentials")
 */
function onWelcome(ws, url, node, proof) {
  if (conn !== ws || welcomed) return;
  // Whoever answers on a control plane's address (e.g. a process that took its port) must not
  // command us: only a peer that knows our key can welcome us.
  if (
    !challengeNonce ||
    typeof proof !== 'string' ||
    !sameText(proof, welcomeProof(config.credential, challengeNonce, config.instanceId))
  ) {
    diag('error', 'a welcome without a valid proof: not our control plane; dropping it', { url });
    ws.destroy();
    return;
  }
  welcomed = true;
  // The key just used is void once the control plane hears that we hold its successor.
  config.credential = nextCredentialKey(config.credential, challengeNonce);
  send({ type: 'tokenReceived' });
  if (orphanTimer) {
    clearTimeout(orphanTimer);
    orphanTimer = null;
  }
  diag('info', 'connected', { url });
  // A new connection knows nothing we wrote to the old one: everything unacknowledged goes again.
  for (const step of steps.values()) {
    step.sentSeq = 0;
    step.exitSent = false;
    step.progressSent = undefined;
  }
  pump();
  for (const step of steps.values()) if (step.state === 'running') sendProgress(step);
  bootstrapped ??= bootstrap(node);
  // on every (re)connection: the outcome is repeated until the control plane acts on it
  bootstrapped.then(
    (endpoints) => {
      if (conn === ws && isSessionUp()) send({ type: 'ready', endpoints });
    },
    (err) => {
      if (conn === ws && isSessionUp()) bootstrapError(err);
    },
  );
}

/** @param {string} a @param {string} b */
function sameText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The first message of a connection: the hello proves our key over its nonce, bound to our
 * instance, so a listener posing as the control plane gets nothing it can replay.
 * @param {WsClient} ws @param {unknown} nonce
 */
function onChallenge(ws, nonce) {
  if (conn !== ws || welcomed || challengeNonce !== null || typeof nonce !== 'string' || nonce.length < 16 || nonce.length > 256) return;
  challengeNonce = nonce;
  send({
    type: 'hello',
    instanceId: config.instanceId,
    proof: helloProof(config.credential, nonce, config.instanceId),
    pid: process.pid,
    host: os.hostname(),
    steps: stepReports(),
  });
}

/** @param {WsClient} ws @param {string} url @param {string} text */
function onControlMessage(ws, url, text) {
  /** @type {ControlMessage} */
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    diag('warn', 'unparseable control message ignored', { bytes: text.length });
    return;
  }
  if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
    diag('warn', 'control message without a type ignored');
    return;
  }
  if (msg.type === 'challenge') return onChallenge(ws, msg.nonce);
  if (msg.type === 'welcome') return onWelcome(ws, url, msg.node, msg.proof);
  if (msg.type === 'error') {
    diag('error', 'control plane refused the agent', { url, message: String(msg.message) });
    return;
  }
  // A refusal comes with a shutdown when this agent is stale (its instance ended, or a newer agent
  // replaced it): obey it even though the hello was not welcomed.
  if (msg.type === 'shutdown' && conn === ws && !welcomed) {
    return void exitAgent(0, graceOf(msg.graceMs, SIGNAL_GRACE_MS), 'refused and told to stop');
  }
  if (conn !== ws || !welcomed) {
    diag('warn', 'control message before welcome ignored', { type: msg.type });
    return;
  }
  switch (msg.type) {
    case 'runStep':
      return runStep(msg);
    case 'cancelStep':
      return cancelStep(msg.stepId, msg.graceMs);
    case 'ackLogs': {
      const step = steps.get(msg.stepId);
      const seq = Number(msg.seq);
      if (!step || !Number.isFinite(seq)) return;
      step.unacked.ackThrough(seq);
      step.sentSeq = Math.max(step.sentSeq, Math.min(seq, step.lastSeq));
      if (step.paused && step.unacked.length <= PAUSE_UNACKED_LINES / 2) {
        step.paused = false;
        for (const s of step.outputs) s.resume();
      }
      return;
    }
    case 'ackExit': {
      const step = steps.get(msg.stepId);
      if (step && step.state === 'exited') steps.delete(msg.stepId);
      else if (step) diag('warn', 'ackExit for a running step ignored', { stepId: msg.stepId });
      return;
    }
    case 'shutdown':
      void exitAgent(0, graceOf(msg.graceMs, SIGNAL_GRACE_MS), 'shutdown requested');
      return;
    default:
      diag('warn', 'unknown control message ignored', { type: /** @type {{type: string}} */ (msg).type });
  }
}

/**
 * One connection: hello, wait for welcome, serve until it closes.
 * @param {string} url
 * @returns {Promise<boolean>} whether the control plane welcomed us
 */
async function session(url) {
  let ws;
  try {
    ws = await connectWebSocket(url);
  } catch (err) {
    diag('info', 'connect failed', { url, error: errorText(err) });
    return false;
  }
  if (shuttingDown) {
    ws.destroy();
    return false;
  }
  const client = ws;
  return new Promise((resolve) => {
    let wasWelcomed = false;
    const welcomeTimer = setTimeout(() => {
      diag('warn', 'no welcome from control plane', { url });
      client.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    client.onMessage = (text) => {
      onControlMessage(client, url, text);
      if (!wasWelcomed && conn === client && welcomed) {
        wasWelcomed = true;
        clearTimeout(welcomeTimer);
      }
    };
    client.onDrain = () => {
      if (conn === client) pump();
    };
    client.onClose = () => {
      clearTimeout(welcomeTimer);
      if (conn === client) {
        conn = null;
        welcomed = false;
        if (wasWelcomed) diag('info', 'disconnected', { url });
        startOrphanTimer();
      }
      resolve(wasWelcomed);
    };
    conn = client;
    welcomed = false;
    challengeNonce = null;
    client.start(); // the hello answers the control plane's challenge (onChallenge)
  });
}

async function connectionLoop() {
  let urlIndex = 0;
  let delay = BACKOFF_START_MS;
  while (!shuttingDown) {
    const url = config.urls[urlIndex];
    const wasWelcomed = await session(url);
    if (shuttingDown) return;
    if (wasWelcomed) {
      // The server we had may just be restarting: try it again first, soon.
      delay = BACKOFF_START_MS;
    } else {
      urlIndex = (urlIndex + 1) % config.urls.length;
    }
    await new Promise((r) => setTimeout(r, delay));
    if (!wasWelcomed) delay = Math.min(delay * 2, BACKOFF_MAX_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/** @type {NodeJS.Timeout | null} */
let heartbeatTimer = null;

/** @param {number} code @param {number} graceMs @param {string} reason */
async function exitAgent(code, graceMs, reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  diag('info', 'stopping', { reason, graceMs });
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  if (orphanTimer) clearTimeout(orphanTimer);
  stopMetrics?.();
  sandbox.close();
  await stopAllSteps(graceMs);
  await sparkNode?.stop(graceMs);
  await flushForExit();
  diag('info', 'exiting', { code });
  process.exit(code);
}

/** Best effort: write what is unsent (bounded by EXIT_FLUSH_MS), then close the socket cleanly. */
async function flushForExit() {
  const ws = conn;
  if (!ws) return;
  const deadline = Date.now() + EXIT_FLUSH_MS;
  pump();
  while (isSessionUp() && ws.bufferedAmount > SEND_HIGH_WATER && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    pump();
  }
  if (!ws.open) return;
  await new Promise((resolve) => {
    const prev = ws.onClose;
    ws.onClose = () => {
      prev();
      resolve(undefined);
    };
    ws.close(1001, 'agent stopping');
  });
}

function main() {
  if (config.problems.length > 0) {
    diag('error', 'bad configuration', { problems: config.problems });
    process.exit(2);
  }
  diag('info', 'agent starting', {
    pid: process.pid,
    host: os.hostname(),
    urls: config.urls,
    workdir: config.workdir,
    heartbeatMs: config.heartbeatMs,
    orphanMs: config.orphanMs,
  });
  process.on('SIGTERM', () => void exitAgent(0, SIGNAL_GRACE_MS, 'SIGTERM'));
  process.on('SIGINT', () => void exitAgent(0, SIGNAL_GRACE_MS, 'SIGINT'));
  process.on('SIGUSR2', () => void decommission());
  process.on('uncaughtException', (err) => {
    // Our state is gone, so nobody could report on the steps any more: take them down with us.
    diag('error', 'agent crashed', { error: errorText(err), stack: err.stack });
    for (const s of steps.values()) stopStep(s, 'SIGKILL');
    sandbox.close();
    sparkNode?.killNow();
    process.exit(1);
  });
  // A peer that vanished without a FIN only shows up as silence; ws servers answer pings.
  const silentLimit = Math.max(config.heartbeatMs * 5, 15_000);
  heartbeatTimer = setInterval(() => {
    if (isSessionUp()) send({ type: 'heartbeat', at: Date.now() });
    if (conn?.open) {
      conn.ping();
      if (Date.now() - conn.lastReceivedAt > silentLimit) {
        diag('warn', 'control plane silent: dropping connection', { silentMs: Date.now() - conn.lastReceivedAt });
        conn.destroy();
      }
    }
  }, config.heartbeatMs);
  startOrphanTimer();
  void connectionLoop();
}

main();
