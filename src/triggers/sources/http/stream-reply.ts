// A function URL in RESPONSE_STREAM mode: the function's streamed response goes to the HTTP client
// as it is written. Its head comes from the stream's Content-Type, or, for Lambda's HTTP
// integration type (awslambda.HttpResponseStream.from), from the JSON metadata before the 8 null
// bytes. A write waits while the client's socket is full: a slow client holds the function back
// (up to its timeout) instead of filling the server's memory. A client that goes away costs
// nothing more: the rest is dropped while the function runs on.
import type http from 'node:http';
import type { ResponseStreamSink } from '../../../engine/functions/types.js';
import { preludeReply, streamedHead, type HttpReply } from './result.js';

export const HTTP_INTEGRATION_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER = Buffer.alloc(8);
/** metadata longer than this without its delimiter is not Lambda's format */
const MAX_PRELUDE_BYTES = 64 * 1024;

export class StreamedReply implements ResponseStreamSink {
  /** the metadata read so far (null: not reading one) */
  private prelude: Buffer | null = null;
  /** the function's response began (start was called) */
  began = false;
  /** the platform answered instead (bad metadata): the function's bytes are dropped */
  private refused = false;

  constructor(
    private readonly res: http.ServerResponse,
    /** writes the head (the route's CORS and request id headers added) */
    private readonly head: (reply: Omit<HttpReply, 'body'>) => void,
    /** answers for the function (its metadata is invalid) */
    private readonly refuse: (reply: HttpReply) => void,
  ) {}

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  start(contentType: string): void {
    this.began = true;
    if (contentType === HTTP_INTEGRATION_TYPE) {
      this.prelude = Buffer.alloc(0);
      return;
    }
    // a custom runtime's raw Content-Type may hold what no header can (Node would throw)
    const head = streamedHead(contentType);
    if (head.reason) this.refuseWith(head);
    else this.open(head);
  }

  private open(reply: Omit<HttpReply, 'body'>): void {
    this.head(reply);
    // the head leaves now, not with the first bytes: a client sees the status while the function works
    this.res.flushHeaders();
  }

  write(chunk: Buffer): void | Promise<void> {
    if (this.refused) return;
    if (this.prelude) {
      const seen = Buffer.concat([this.prelude, chunk]);
      const at = seen.indexOf(PRELUDE_DELIMITER);
      if (at < 0) {
        if (seen.length > MAX_PRELUDE_BYTES) this.refuseWith(preludeReply(seen.toString('utf8', 0, 200)));
        else this.prelude = seen;
        return;
      }
      this.prelude = null;
      const reply = preludeReply(seen.toString('utf8', 0, at));
      if (reply.reason) return this.refuseWith(reply);
      this.open(reply);
      chunk = seen.subarray(at + PRELUDE_DELIMITER.length);
      if (chunk.length === 0) return;
    }
    if (this.res.destroyed || this.res.writableEnded) return;
    if (this.res.write(chunk)) return;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done).off('close', done);
        resolve();
      };
      this.res.on('drain', done).on('close', done);
    });
  }

  private refuseWith(reply: HttpReply): void {
    this.refused = true;
    this.prelude = null;
    this.refuse(reply);
  }

  /** The function's response ended: whole, or cut by a failure after its head left (the client sees it cut short). */
  end(failed: boolean): void {
    if (this.refused || this.res.destroyed) return;
    if (failed) {
      // what was written still goes out, but not the body's last chunk: the client sees the response cut short
      if (this.res.socket) this.res.socket.end();
      else this.res.destroy();
      return;
    }
    // metadata never completed: not a response
    if (this.prelude) this.refuseWith(preludeReply(this.prelude.toString('utf8', 0, 200)));
    else this.res.end();
  }
}
