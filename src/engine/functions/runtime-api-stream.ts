// The Runtime API's streaming response mode: a POST to …/invocation/<id>/response with
// `Lambda-Runtime-Function-Response-Mode: streaming` and a chunked body, whose bytes are handed on
// as they arrive (a chunk's bytes too, before the chunk is whole) and whose trailers
// Lambda-Runtime-Function-Error-Type / -Body tell a failure after the first byte. Nothing is kept
// beyond what one read of the socket brings: while the receiver is busy the socket is paused, so
// a runtime that writes faster than the client reads is held back by TCP, not by our memory.
import type { Socket } from 'node:net';

/** Lambda's default limit of a streamed response (a soft limit there). */
export const MAX_STREAMED_RESPONSE_BYTES = 20 * 1024 * 1024;
const MAX_LINE_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** How a streamed body ended: its trailers (empty when none), over the limit, or malformed. */
export type StreamedBodyEnd = { kind: 'END'; trailers: Map<string, string>; rest: Buffer } | { kind: 'TOO_LARGE' } | { kind: 'MALFORMED' };

export const isStreamingMode = (headers: Map<string, string>) =>
  (headers.get('lambda-runtime-function-response-mode') ?? '').toLowerCase() === 'streaming';

/** Decodes one chunked request body as its bytes come; `data` may ask to wait (a promise). */
export class ChunkedBodyReader {
  private buf: Buffer = EMPTY;
  private left = 0;
  private phase: 'size' | 'data' | 'crlf' | 'trailers' | 'done' = 'size';
  private total = 0;
  private running = false;

  constructor(
    private readonly socket: Socket,
    private readonly limit: number,
    private readonly data: (chunk: Buffer) => void | Promise<void>,
    private readonly end: (how: StreamedBodyEnd) => void,
  ) {}

  push(bytes: Buffer): void {
    if (this.phase === 'done') return;
    this.buf = this.buf.length === 0 ? bytes : Buffer.concat([this.buf, bytes]);
    if (!this.running) void this.run();
  }

  private finish(how: StreamedBodyEnd): void {
    this.phase = 'done';
    this.buf = EMPTY;
    this.end(how);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        if (this.phase === 'done') return;
        if (this.phase === 'size') {
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) {
            if (this.buf.length > MAX_LINE_BYTES) this.finish({ kind: 'MALFORMED' });
            return;
          }
          // a chunk size may carry extensions (";name=value"): ignored
          const text = this.buf.toString('latin1', 0, eol).split(';')[0]!.trim();
          const n = /^[0-9a-fA-F]{1,8}$/.test(text) ? parseInt(text, 16) : NaN;
          if (!Number.isFinite(n)) return this.finish({ kind: 'MALFORMED' });
          this.buf = this.buf.subarray(eol + 2);
          if (n === 0) this.phase = 'trailers';
          else {
            this.left = n;
            this.phase = 'data';
          }
        } else if (this.phase === 'data') {
          if (this.buf.length === 0) return;
          const take = Math.min(this.left, this.buf.length);
          const chunk = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.left -= take;
          if (this.left === 0) this.phase = 'crlf';
          this.total += take;
          if (this.total > this.limit) return this.finish({ kind: 'TOO_LARGE' });
          const wait = this.data(chunk);
          if (wait) {
            this.socket.pause();
            await wait;
            if (!this.socket.destroyed) this.socket.resume();
          }
        } else if (this.phase === 'crlf') {
          if (this.buf.length < 2) return;
          if (this.buf[0] !== 13 || this.buf[1] !== 10) return this.finish({ kind: 'MALFORMED' });
          this.buf = this.buf.subarray(2);
          this.phase = 'size';
        } else {
          // the trailer fields, then an empty line (alone when there are none)
          const empty = this.buf.length >= 2 && this.buf[0] === 13 && this.buf[1] === 10;
          const end = empty ? 0 : this.buf.indexOf('\r\n\r\n');
          if (end < 0) {
            if (this.buf.length > MAX_LINE_BYTES) this.finish({ kind: 'MALFORMED' });
            return;
          }
          const trailers = new Map<string, string>();
          for (const line of empty ? [] : this.buf.toString('latin1', 0, end).split('\r\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          const rest = this.buf.subarray(empty ? 2 : end + 4);
          return this.finish({ kind: 'END', trailers, rest });
        }
      }
    } finally {
      this.running = false;
    }
  }
}
