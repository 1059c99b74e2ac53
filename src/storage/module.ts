// Storage: buckets and their objects (metadata in Postgres, bytes in BUCKETS_DIR), over GraphQL and
// streamed over HTTP at /objects/<bucket>/<key>.
import type { Authenticate } from '../platform/authorization.js';
import type { HttpSurface, Module } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import { objectRoutes } from './http-routes.js';
import { BucketResolver } from './resolvers.js';
import { MultipartService } from './multipart-service.js';
import { StorageService } from './service.js';

export const storageResolvers = [BucketResolver];

export class StorageModule implements Module {
  readonly name = 'storage';
  readonly storage: StorageService;
  readonly multipart: MultipartService;
  readonly resolvers: object[];
  readonly http: HttpSurface;

  constructor(platform: Platform, deps: { authenticate: Authenticate }) {
    this.storage = new StorageService(platform.sql, platform.config, platform.log);
    this.multipart = new MultipartService(
      platform.sql,
      this.storage,
      { dataDir: platform.config.dataDir, expirySeconds: platform.config.multipartExpirySeconds },
      platform.log,
    );
    this.resolvers = [new BucketResolver(this.storage)];
    this.http = { routes: [{ path: '/objects', handler: objectRoutes(this.storage, deps.authenticate, platform.log) }] };
  }

  async prepare(): Promise<void> {
    await this.storage.start();
    await this.multipart.start();
  }

  stop(): void {
    this.multipart.stop();
    this.storage.stop();
  }
}
