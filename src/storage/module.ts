// Storage: buckets and their objects (metadata in Postgres, bytes in BUCKETS_DIR), over GraphQL,
// streamed over HTTP at /objects/<bucket>/<key>, and through the S3 endpoint on the same port.
import type { Authenticate, LookupS3Credentials } from '../platform/authorization.js';
import type { HttpSurface, Module } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import { objectRoutes } from './http-routes.js';
import { S3Endpoint } from './s3/handler.js';
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

  constructor(platform: Platform, deps: { authenticate: Authenticate; s3Credentials: LookupS3Credentials }) {
    this.storage = new StorageService(platform.sql, platform.config, platform.log);
    this.multipart = new MultipartService(
      platform.sql,
      this.storage,
      { dataDir: platform.config.dataDir, expirySeconds: platform.config.multipartExpirySeconds },
      platform.log,
    );
    this.resolvers = [new BucketResolver(this.storage)];
    const s3 = new S3Endpoint(
      this.storage,
      this.multipart,
      deps.s3Credentials,
      { region: platform.config.s3Region, virtualHostDomains: platform.config.s3VirtualHostDomains },
      platform.log,
    );
    this.http = {
      // S3 requests are told apart by their AWS signature (or a bucket's Host), whatever their path
      handlers: [{ owns: (req) => s3.owns(req), handle: s3.handle }],
      routes: [{ path: '/objects', handler: objectRoutes(this.storage, deps.authenticate, platform.log) }],
      fallback: s3.fallback,
    };
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
