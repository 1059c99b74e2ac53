// GET /host/code/<sha256>: a joined host fetches a function's code package (it shares no disk with
// the server). The host proves its key with codeProof(key, challenge of its session here, hash)
// (engine/agent/credential.js): nothing on the wire is a bearer token; a proof fetches that one
// package, only while that session lasts, and only from the server holding it.
import { createReadStream } from 'node:fs';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

const HASH = /^[0-9a-f]{64}$/;

export function hostCodeRoute(
  codeProofValid: (hostId: string, codeHash: string, proof: string) => boolean,
  packagePath: (hash: string) => string,
  log: Logger,
): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET') return next();
    const hash = req.path.replace(/^\/+/, '');
    const hostId = req.header('x-emberplane-host') ?? '';
    const proof = req.header('x-emberplane-proof') ?? '';
    const refuse = (status: number, message: string) => res.status(status).type('text/plain').send(message);
    if (!HASH.test(hash)) return refuse(400, 'not a code hash (64 lowercase hex digits)');
    if (!codeProofValid(hostId, hash, proof)) return refuse(403, 'no valid code proof of a host session held by this server');
    const stream = createReadStream(packagePath(hash));
    stream.once('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return res.destroy(err);
      if (err.code === 'ENOENT') return refuse(404, `no code package ${hash}`);
      log.error({ err, hash }, 'code package not served to a host');
      refuse(500, 'the code package could not be read');
    });
    stream.once('open', () => {
      res.status(200).type('application/zip');
      stream.pipe(res);
    });
  };
}
