// What every CLI command gets: the client for the chosen server and key, the output format, and the
// exit codes a script can rely on (docs/cli.md).
import type { Command } from 'commander';
import { ApiError, EmberplaneClient } from '../client/client.js';
import type { OutputFormat } from './output.js';
import { ConfigError, loadProfile } from './profiles.js';

export const EXIT = {
  OK: 0,
  /** what was waited for ended badly: a FAILED step, a cluster that ended with errors, a function error */
  FAILED: 1,
  /** the command line is wrong */
  USAGE: 2,
  /** the API refused the request (bad input, not found, forbidden, …): its code, field and message are printed */
  REFUSED: 3,
  /** no server or key configured, or the server cannot be reached */
  UNREACHABLE: 4,
} as const;

/** A failure the CLI reports in one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  profile?: string;
  endpoint?: string;
  output?: string;
}

export interface Context {
  client: EmberplaneClient;
  output: OutputFormat;
}

/** The root command's options as seen from any subcommand. */
export function globalsOf(command: Command): GlobalOptions {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

export function outputOf(globals: GlobalOptions): OutputFormat {
  const profile = loadProfile(
    globals.profile ?? process.env.EMBERPLANE_PROFILE ?? 'default',
    Boolean(globals.profile ?? process.env.EMBERPLANE_PROFILE),
  );
  const output = globals.output ?? process.env.EMBERPLANE_OUTPUT ?? profile.output ?? 'table';
  if (output !== 'json' && output !== 'table') throw new CliError(`--output must be json or table, got "${output}"`, EXIT.USAGE);
  return output;
}

export function contextOf(command: Command): Context {
  const globals = globalsOf(command);
  const name = globals.profile ?? process.env.EMBERPLANE_PROFILE ?? 'default';
  const profile = loadProfile(name, Boolean(globals.profile ?? process.env.EMBERPLANE_PROFILE));
  const endpoint = globals.endpoint ?? process.env.EMBERPLANE_ENDPOINT ?? profile.endpoint;
  const apiKey = process.env.EMBERPLANE_API_KEY ?? profile.api_key;
  if (!endpoint || !apiKey) {
    throw new CliError(
      `no ${endpoint ? 'API key' : 'endpoint'} for profile "${name}": run \`emberplane configure\` or set EMBERPLANE_ENDPOINT and EMBERPLANE_API_KEY`,
      EXIT.UNREACHABLE,
    );
  }
  let client: EmberplaneClient;
  try {
    client = new EmberplaneClient({ endpoint, apiKey });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.USAGE);
  }
  return { client, output: outputOf(globals) };
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError) return EXIT.UNREACHABLE;
  if (err instanceof ApiError) return err.code === 'UNREACHABLE' || err.code === 'CONNECTION_LOST' ? EXIT.UNREACHABLE : EXIT.REFUSED;
  return EXIT.FAILED;
}

/** Parses a whole number option (commander's argParser). */
export function wholeNumber(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new CliError(`${flag} must be a whole number${min > 0 ? ` ≥ ${min}` : ''}, got "${value}"`, EXIT.USAGE);
    return n;
  };
}

/** `key=value` pairs into an object (repeatable options). */
export function pairs(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf('=');
    if (at <= 0) throw new CliError(`${flag} must be key=value, got "${value}"`, EXIT.USAGE);
    return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
  };
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];
