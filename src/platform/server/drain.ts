import type http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Graceful stop of an HTTP server: no new connections, idle keep-alive connections closed, each busy
 * one closed once its requests are answered; whatever is still open after the grace period is cut.
 * Sockets upgraded to WebSocket count as idle (their own server closes them).
 */
export class HttpDrain {
  private requestsBySocket = new Map<Socket, number>();
  private stopping = false;

  constructor(private readonly server: http.Server) {
    server.on('connection', (socket: Socket) => {
      this.requestsBySocket.set(socket, 0);
      socket.once('close', () => this.requestsBySocket.delete(socket));
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      this.requestsBySocket.set(socket, (this.requestsBySocket.get(socket) ?? 0) + 1);
      res.once('finish', () => {
        const pending = (this.requestsBySocket.get(socket) ?? 0) - 1;
        this.requestsBySocket.set(socket, pending);
        if (this.stopping && pending === 0) socket.end();
      });
    });
  }

  /** Resolves when every connection is closed: false when the grace period had to cut some. */
  async stop(graceMs: number): Promise<boolean> {
    // requests whose connection was accepted in this turn get their 'request' event first
    await new Promise((resolve) => setImmediate(resolve));
    this.stopping = true;
    let graceful = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const [socket, requests] of this.requestsBySocket) if (requests === 0) socket.end();
    const timer = setTimeout(() => {
      graceful = false;
      for (const socket of this.requestsBySocket.keys()) socket.end();
      setImmediate(() => {
        for (const socket of this.requestsBySocket.keys()) socket.destroy();
      });
    }, graceMs);
    await closed;
    clearTimeout(timer);
    return graceful;
  }
}
