// The HTTP/1.1 response reader shared by the Node runtime's Runtime API client and the bench's
// load generator: both talk over plain keep-alive sockets, because node:http's client costs
// several times more CPU per request on machines where every core is shared with the server.

/**
 * The status line and headers at the start of `buf`, and where they end (the blank line's offset).
 * @param {Buffer} buf
 * @returns {{ status: number, headers: Record<string, string>, end: number } | null} null while bytes are missing
 */
function readHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  /** @type {Record<string, string>} */
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  return { status, headers, end };
}

const isChunked = (/** @type {Record<string, string>} */ headers) => /\bchunked\b/i.test(headers['transfer-encoding'] ?? '');

/**
 * The response at the start of `buf` (a body by content-length or chunked, without trailers).
 * @param {Buffer} buf
 * @returns {{ status: number, headers: Record<string, string>, body: Buffer, rest: Buffer } | null} null while bytes are missing
 */
export function readResponse(buf) {
  const head = readHead(buf);
  if (!head) return null;
  const { status, headers, end } = head;
  if (isChunked(headers)) {
    const parts = [];
    let at = end + 4;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return null;
      const n = parseInt(buf.toString('latin1', at, eol), 16);
      if (buf.length < eol + 2 + n + 2) return null;
      // no trailers: the terminating CRLF follows the last chunk
      if (n === 0) return { status, headers, body: Buffer.concat(parts), rest: buf.subarray(eol + 4) };
      parts.push(buf.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + length) return null;
  return { status, headers, body: buf.subarray(end + 4, end + 4 + length), rest: buf.subarray(end + 4 + length) };
}

/**
 * The size of the whole response that `buf` starts with, once its head is in and gives a
 * content-length; 0 while that is not known (the head incomplete, or a chunked body). A reader
 * holds the pieces of a large response until this many bytes are in, rather than joining them
 * at every read (which copies a body of n reads about n/2 times).
 * @param {Buffer} buf
 * @returns {number}
 */
export function responseBytes(buf) {
  const head = readHead(buf);
  if (!head || isChunked(head.headers)) return 0;
  return head.end + 4 + Number(head.headers['content-length'] ?? 0);
}
