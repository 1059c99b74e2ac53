// What the WebSocket endpoints of node agents (/agent) and hosts (/host) share: one JSON object per
// text frame, and liveness by ping.
import type { RawData, WebSocket } from 'ws';

/**
 * The JSON object of one frame, or null after closing the socket (4400) for a binary, oversized or
 * malformed frame.
 */
export function jsonFrame<T>(ws: WebSocket, data: RawData, isBinary: boolean, maxBytes: number): T | null {
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  if (isBinary || size > maxBytes) {
    ws.close(4400, 'bad frame');
    return null;
  }
  let message: unknown;
  try {
    message = JSON.parse(data.toString());
  } catch {
    message = null;
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    ws.close(4400, 'malformed message');
    return null;
  }
  return message as T;
}

type Pinged = WebSocket & { alive?: boolean };

/** Marks the socket alive on every pong (once, at accept). */
export function trackPongs(ws: WebSocket): void {
  ws.on('pong', () => {
    (ws as Pinged).alive = true;
  });
}

/** Pings the socket; false (and terminated) when it did not answer the previous ping. */
export function pingOrTerminate(ws: WebSocket): boolean {
  const pinged = ws as Pinged;
  if (pinged.alive === false) {
    ws.terminate();
    return false;
  }
  pinged.alive = false;
  ws.ping();
  return true;
}
