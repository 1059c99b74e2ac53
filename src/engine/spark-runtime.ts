// Where Spark comes from on this host: the pyspark package of a python3 (resolved once, to an
// absolute interpreter, not a version-manager shim) and a Java runtime. Resolved once at start-up;
// the `applications` query and createCluster report what is missing. Nodes sandboxed as their own
// uids (a server started as root) can only run an interpreter and a Spark every user may reach:
// a pyenv under /root is passed over for the system's /usr/bin/python3.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const PYSPARK_VERSION = '3.5.7';
export const PYSPARK_INSTALL = `python3 -m pip install pyspark==${PYSPARK_VERSION}`;
/** for the system's python, which every node's user can run (Debian's pip wants the flag for it) */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const PYSPARK_SYSTEM_INSTALL = `${SYSTEM_PYTHON} -m pip install pyspark==${PYSPARK_VERSION} --break-system-packages`;

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

function resolveJava(home: string | undefined): string | null {
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

/** Whether every user may reach `file` (each directory on the way searchable, the file itself readable). */
function reachableByOthers(file: string): boolean {
  try {
    if ((statSync(file).mode & 0o004) === 0) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === path.dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

interface DetectOptions {
  python?: string;
  sparkHome?: string;
  /** JAVA_HOME: the Java that runs Spark is its bin/java (else java on PATH) */
  javaHome?: string;
  /** the nodes run as other users (sandboxed, started as root): python and Spark must be theirs to read */
  forOthers?: boolean;
}

/**
 * Finds Spark for the given overrides (PYTHON, SPARK_HOME). Memoised per overrides: it runs a
 * python and a java once (≈ 0.3 s).
 */
export function detectSpark(options: DetectOptions): SparkRuntime {
  const key = `${options.python ?? ''}\0${options.sparkHome ?? ''}\0${options.javaHome ?? ''}\0${options.forOthers ? 1 : 0}`;
  let found = cache.get(key);
  if (!found) {
    found = detect(options);
    cache.set(key, found);
  }
  return found;
}

function detect(options: DetectOptions): SparkRuntime {
  const missing = (reason: string, python: string | null = null, sparkHome: string | null = null): SparkRuntime => ({
    available: false,
    reason,
    python,
    sparkHome,
    java: null,
  });
  const install = options.forOthers ? PYSPARK_SYSTEM_INSTALL : PYSPARK_INSTALL;
  let python = resolvePython(options.python);
  if (!python) {
    return missing(
      `python3 was not found${options.python ? ` at ${options.python} (PYTHON)` : ' on PATH'}: install Python 3, then run \`${install}\``,
    );
  }
  if (options.forOthers && !reachableByOthers(python)) {
    const unreachable = python;
    python = options.python ? null : resolvePython(SYSTEM_PYTHON);
    if (!python || !reachableByOthers(python)) {
      return missing(
        `${unreachable} can't be run by the nodes' users (they run sandboxed as their own uids): install Python 3 where every user can read it, then run \`${install}\``,
      );
    }
  }
  const sparkHome =
    options.sparkHome ??
    // found without importing it (an import of pyspark costs ~0.5 s of start-up)
    run(python, ['-c', "import importlib.util as u; s = u.find_spec('pyspark'); print(s.submodule_search_locations[0] if s else '')"]);
  if (!sparkHome) return missing(`pyspark is not installed for ${python}: run \`${install}\``, python);
  if (!existsSync(path.join(sparkHome, 'bin', 'spark-class'))) {
    return missing(`${sparkHome} has no bin/spark-class${options.sparkHome ? ' (SPARK_HOME)' : ''}: run \`${install}\``, python, sparkHome);
  }
  if (options.forOthers && !reachableByOthers(path.join(sparkHome, 'bin', 'spark-class'))) {
    return missing(
      `Spark at ${sparkHome} can't be read by the nodes' users (they run sandboxed as their own uids): run \`${install}\``,
      python,
      sparkHome,
    );
  }
  const java = resolveJava(options.javaHome);
  if (!java) return missing('Java was not found (JAVA_HOME or java on PATH): Spark needs a Java 17 runtime', python, sparkHome);
  return { available: true, reason: null, python, sparkHome, java };
}

/** where `npm run spark:install` puts s3a's jars (SPARK_JARS_DIR's default) */
export const DEFAULT_SPARK_JARS_DIR = '/usr/local/share/emberplane/jars';

// s3a for pyspark's Hadoop (3.3.4): what `npm run spark:install` puts in SPARK_JARS_DIR
const S3A_JARS = [/^hadoop-aws-\d+\.\d+\.\d+\.jar$/, /^aws-java-sdk-bundle-\d+\.\d+\.\d+\.jar$/];

/** hadoop-aws and the AWS SDK bundle in `dir`, both or none ([] when either is missing). */
export function findS3aJars(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const found = S3A_JARS.map((pattern) => files.filter((f) => pattern.test(f)).at(-1));
  return found.every((f) => f !== undefined) ? found.map((f) => path.join(dir, f!)) : [];
}
