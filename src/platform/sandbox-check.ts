// The start-up check for the sandbox tenant code runs in (docs/security.md): without its
// tools the server refuses to start rather than run tenant code unconfined, unless told SANDBOX=off.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { findSandboxTool, type SandboxTool } from '../engine/sandbox/confine.js';

/** A reason not to start that the operator fixes: printed as it is, without a stack. */
export class StartupError extends Error {}

/** The sandbox tools to confine tenant code with; null when SANDBOX=off (warned about at every start). */
export function sandboxToolOf(config: Config, log: Logger): SandboxTool | null {
  if (!config.sandbox) {
    log.warn(
      "SANDBOX=off: tenant code (function instances, cluster steps) runs unconfined, with the server's access to this host; for development only",
    );
    return null;
  }
  const found = findSandboxTool(config.sandboxBwrap !== undefined ? { bwrap: config.sandboxBwrap } : {});
  if (found.tool) return found.tool;
  throw new StartupError(
    [
      `Refusing to start: tenant code runs in a sandbox, and ${found.missing.join(' and ')} ${found.missing.length > 1 ? 'are' : 'is'} not installed` +
        (config.sandboxBwrap !== undefined ? ` (SANDBOX_BWRAP=${config.sandboxBwrap} is not an executable)` : '') +
        '.',
      'Install it (Debian/Ubuntu): apt-get install -y bubblewrap util-linux',
      '(Fedora/RHEL: dnf install -y bubblewrap util-linux; Alpine: apk add bubblewrap setpriv)',
      'Or, for development only, run tenant code unconfined: SANDBOX=off npm start',
    ].join('\n'),
  );
}
