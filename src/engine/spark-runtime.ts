// Where Spark comes from on this host: the pyspark package of a python3 (resolved once, to an
// absolute interpreter, not a version-manager shim) and a Java runtime. Resolved once at start-up;
// the `applications` query and createCluster report what is missing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const PYSPARK_VERSION = '3.5.7';
export const PYSPARK_INSTALL = `python3 -m pip install pyspark==${PYSPARK_VERSION}`;

export interface SparkRuntime {
  available: boolean;
  /** what is missing, with the command that fixes it (null when available) */
  reason: string | null;
  /** absolute path of the python3 that has pyspark */
  python: string | null;
  /** the pyspark directory: bin/spark-class, bin/spark-submit, jars/ */
  sparkHome: string | null;
  /** the java executable Spark will use */
  java: string | null;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'], env }).trim();
  } catch {
    return null;
  }
}

/** `python3` from PATH (or the given one) as the absolute interpreter behind any shim. */
function resolvePython(given: string | undefined): string | null {
  return run(given ?? 'python3', ['-c', 'import sys; print(sys.executable)']) || null;
}

function resolveJava(): string | null {
  const home = process.env.JAVA_HOME;
  const java = home ? path.join(home, 'bin', 'java') : 'java';
  // `java -version` prints to stderr; success is all we need
  try {
    execFileSync(java, ['-version'], { stdio: 'ignore', timeout: 15_000 });
    return java;
  } catch {
    return null;
  }
}

const cache = new Map<string, SparkRuntime>();

/**
 * Finds Spark for the given overrides (PYTHON, SPARK_HOME). Memoised per overrides: it runs a
 * python and a java once (≈ 0.3 s).
 */
export function detectSpark(options: { python?: string; sparkHome?: string }): SparkRuntime {
  const key = `${options.python ?? ''}\0${options.sparkHome ?? ''}`;
  let found = cache.get(key);
  if (!found) {
    found = detect(options);
    cache.set(key, found);
  }
  return found;
}

function detect(options: { python?: string; sparkHome?: string }): SparkRuntime {
  const missing = (reason: string, python: string | null = null, sparkHome: string | null = null): SparkRuntime =>
    ({ available: false, reason, python, sparkHome, java: null });
  const python = resolvePython(options.python);
  if (!python) {
    return missing(`python3 was not found${options.python ? ` at ${options.python} (PYTHON)` : ' on PATH'}: install Python 3, then run \`${PYSPARK_INSTALL}\``);
  }
  const sparkHome = options.sparkHome
    // found without importing it (an import of pyspark costs ~0.5 s of start-up)
    ?? run(python, ['-c', "import importlib.util as u; s = u.find_spec('pyspark'); print(s.submodule_search_locations[0] if s else '')"]);
  if (!sparkHome) return missing(`pyspark is not installed for ${python}: run \`${PYSPARK_INSTALL}\``, python);
  if (!existsSync(path.join(sparkHome, 'bin', 'spark-class'))) {
    return missing(`${sparkHome} has no bin/spark-class${options.sparkHome ? ' (SPARK_HOME)' : ''}: run \`${PYSPARK_INSTALL}\``, python, sparkHome);
  }
  const java = resolveJava();
  if (!java) return missing('Java was not found (JAVA_HOME or java on PATH): Spark needs a Java 17 runtime', python, sparkHome);
  return { available: true, reason: null, python, sparkHome, java };
}
