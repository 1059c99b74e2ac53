// Where the CLI finds its server and key, as the AWS CLI does: flags first, then the environment
// (EMBERPLANE_ENDPOINT, EMBERPLANE_API_KEY, EMBERPLANE_PROFILE), then a profile of the config file
// (~/.emberplane/config, or EMBERPLANE_CONFIG_FILE): INI sections `[default]` and `[profile <name>]`
// with `endpoint`, `api_key` and `output`. `emberplane configure` writes it (0600: it holds keys).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The config file is wrong or names no such profile: nothing can be reached (exit code 4). */
export class ConfigError extends Error {}

export interface Profile {
  endpoint?: string;
  api_key?: string;
  output?: string;
}

export const PROFILE_KEYS = ['endpoint', 'api_key', 'output'] as const;

export function configFile(): string {
  return process.env.EMBERPLANE_CONFIG_FILE || path.join(os.homedir(), '.emberplane', 'config');
}

const sectionOf = (profile: string) => (profile === 'default' ? 'default' : `profile ${profile}`);

/** The file's sections: section name → key → value (comments and blank lines dropped). */
export function readConfig(file = configFile()): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  if (!existsSync(file)) return sections;
  let current: Map<string, string> | null = null;
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) return;
      const header = /^\[([^\]]+)\]$/.exec(line);
      if (header) {
        const name = header[1]!.trim().replace(/\s+/g, ' ');
        current = sections.get(name) ?? new Map();
        sections.set(name, current);
        return;
      }
      const eq = line.indexOf('=');
      if (eq <= 0 || !current) throw new ConfigError(`${file}:${i + 1}: expected "[section]" or "key = value", got "${line}"`);
      current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    });
  return sections;
}

/** A profile's settings; an unknown profile named explicitly is an error, a missing default is not. */
export function loadProfile(name: string, explicit: boolean): Profile {
  const file = configFile();
  const section = readConfig(file).get(sectionOf(name));
  if (!section) {
    if (explicit) throw new ConfigError(`no profile "${name}" in ${file} (create it with: emberplane configure --profile ${name})`);
    return {};
  }
  return Object.fromEntries(PROFILE_KEYS.filter((k) => section.has(k)).map((k) => [k, section.get(k)!]));
}

/** Sets a profile's keys, keeping the rest of the file; written whole (rename) and 0600. */
export function saveProfile(name: string, values: Profile): string {
  const file = configFile();
  const sections = readConfig(file);
  const section = sections.get(sectionOf(name)) ?? new Map<string, string>();
  for (const k of PROFILE_KEYS) if (values[k] !== undefined) section.set(k, values[k]!);
  sections.set(sectionOf(name), section);
  const text = [...sections].map(([s, entries]) => [`[${s}]`, ...[...entries].map(([k, v]) => `${k} = ${v}`)].join('\n')).join('\n\n');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${text}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}
