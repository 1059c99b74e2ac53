// The module contract: what a product module (clusters, functions, triggers, …) shows app.ts.
// A module is built from the platform and the modules it needs (its constructor says which), offers
// its services as read-only properties to the modules built after it, and declares here what the
// platform must do for it: serve its resolvers and HTTP surface, hand it its NOTIFY channels, start
// and stop it. Nothing is wired after construction.
import type http from 'node:http';
import type { RequestHandler } from 'express';
import type { WebSocket } from 'ws';
import type { ChannelOwner } from './notifications/listener.js';
import type { DocumentRewriter } from './server/raw-json.js';

/** What a module serves on the main HTTP port besides its resolvers. */
export interface HttpSurface {
  /** plain handlers in front of Express, for every request `owns` accepts (no body parsing on the way) */
  readonly handlers?: ReadonlyArray<{
    owns(req: http.IncomingMessage): boolean;
    handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  }>;
  /**
   * What answers a request no route served, instead of the JSON 404 (`next()` gives it back):
   * at most one module has one (storage's S3 endpoint refuses anonymous requests as S3 does)
   */
  readonly fallback?: (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;
  /** Express handlers under a path, mounted before any body parser (they stream their bodies) */
  readonly routes?: ReadonlyArray<{ path: string; handler: RequestHandler }>;
  /** a rewrite of GraphQL query documents over HTTP that answers parts of them as JSON text (server/raw-json.ts) */
  readonly queryRewriter?: DocumentRewriter;
  /** WebSocket endpoints */
  readonly sockets?: ReadonlyArray<{ path: string; maxPayloadBytes: number; accept(ws: WebSocket, remoteAddress: string): void }>;
}

export interface StopOptions {
  /** stop node agents too (they outlive a restart by design; tests and single-user sessions want them gone) */
  stopAgents: boolean;
}

export interface Module extends ChannelOwner {
  /** instances of the module's type-graphql resolver classes, built with its services */
  readonly resolvers: readonly object[];
  readonly http?: HttpSurface;
  /** runs once every module is built, before the server listens: what requests need ready */
  prepare?(): Promise<void> | void;
  /** runs once the server listens (agents can dial it back): the module's loops */
  start?(): Promise<void> | void;
  /** the server is about to stop accepting: end what holds requests open (long polls) */
  drain?(): void;
  /** runs in reverse order of start, after the HTTP server stopped accepting */
  stop?(options: StopOptions): Promise<void> | void;
}
