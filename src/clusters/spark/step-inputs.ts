// What a SPARK step ships with its application, as spark-submit's --files, --py-files, --archives,
// --jars, --packages and --class have it. Objects are named by s3:// URIs. With the object path
// mapping they are reached where they are stored (the driver's sandbox gets them read-only), and
// files and unpacked archives are also placed in the driver's working directory by the runner, as
// apps open them by relative path. Without it, spark-submit gets the s3:// URIs themselves and
// fetches them through s3a (--py-files and --jars for the driver too; --files and --archives reach
// the executors, and the driver through SparkFiles.get).
import { badInput } from '../../platform/errors.js';
import type { StepMount } from '../../engine/types.js';
import type { StepKindContext } from '../step-kinds/types.js';

export interface SparkInputsInput {
  files?: string[] | null;
  pyFiles?: string[] | null;
  archives?: string[] | null;
  jars?: string[] | null;
  packages?: string[] | null;
  mainClass?: string | null;
}

export interface SparkInputs {
  /** spark-submit's options for them */
  submitArgs: string[];
  /** the runner's: what it places in the driver's working directory */
  runnerArgs: string[];
  mounts: StepMount[];
  source: Required<SparkInputsInput>;
}

const MAX_INPUTS = 100;
// groupId:artifactId:version, as --packages takes them
const MAVEN_COORDINATE = /^[A-Za-z0-9_.-]{1,200}:[A-Za-z0-9_.-]{1,200}:[A-Za-z0-9_.+-]{1,100}$/;
const JAVA_CLASS = /^(?:[A-Za-z_$][A-Za-z0-9_$]*\.)*[A-Za-z_$][A-Za-z0-9_$]*$/;
const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/;
// the name an archive is unpacked under (`#alias`), a plain file name
const ALIAS = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,200}$/;

function requireList(value: string[] | null | undefined, field: string): string[] {
  if (value === null || value === undefined) return [];
  if (value.length > MAX_INPUTS) throw badInput(field, `must have at most ${MAX_INPUTS} entries`);
  return value;
}

/** Objects named by s3:// URIs (with `#alias` where `aliased`): their local paths. */
async function resolveObjects(
  uris: string[],
  field: string,
  ctx: StepKindContext,
  check: (uri: string, f: string) => void,
  aliased = false,
) {
  const out: { path: string; alias: string | null }[] = [];
  for (const [i, given] of uris.entries()) {
    const f = `${field}.${i}`;
    const hash = aliased ? given.indexOf('#') : -1;
    const uri = hash >= 0 ? given.slice(0, hash) : given;
    const alias = hash >= 0 ? given.slice(hash + 1) : null;
    if (alias !== null && !ALIAS.test(alias)) throw badInput(f, 'the name after # must be a plain file name');
    if (!uri.startsWith('s3://')) throw badInput(f, 'must be an s3:// URI of an object');
    check(uri, f);
    const { path } = await ctx.storage.resolveUri(uri, f);
    // (what spark-submit is given: the local file, or the object's URI without the mapping)
    out.push({ path: ctx.objectPathMapping ? path : uri, alias });
  }
  return out;
}

export async function prepareSparkInputs(
  input: SparkInputsInput,
  isJar: boolean,
  field: string,
  ctx: StepKindContext,
): Promise<SparkInputs> {
  const any = () => {};
  const files = await resolveObjects(requireList(input.files, `${field}.files`), `${field}.files`, ctx, any);
  const pyFiles = await resolveObjects(requireList(input.pyFiles, `${field}.pyFiles`), `${field}.pyFiles`, ctx, (uri, f) => {
    if (!/\.(py|zip|egg)$/.test(uri)) throw badInput(f, 'must name a .py, .zip or .egg file');
  });
  const archives = await resolveObjects(
    requireList(input.archives, `${field}.archives`),
    `${field}.archives`,
    ctx,
    (uri, f) => {
      if (!ARCHIVE.test(uri)) throw badInput(f, 'must name a .zip, .tar, .tgz or .tar.gz archive');
    },
    true,
  );
  const jars = await resolveObjects(requireList(input.jars, `${field}.jars`), `${field}.jars`, ctx, (uri, f) => {
    if (!uri.endsWith('.jar')) throw badInput(f, 'must name a .jar file');
  });
  const packages = requireList(input.packages, `${field}.packages`);
  for (const [i, p] of packages.entries()) {
    if (!MAVEN_COORDINATE.test(p)) throw badInput(`${field}.packages.${i}`, 'must be Maven coordinates groupId:artifactId:version');
  }
  const mainClass = input.mainClass ?? null;
  if (mainClass !== null) {
    if (!isJar) throw badInput(`${field}.mainClass`, 'is for .jar applications only');
    if (mainClass.length > 500 || !JAVA_CLASS.test(mainClass))
      throw badInput(`${field}.mainClass`, 'must be a Java class name (e.g. org.example.Main)');
  }
  const paths = (list: { path: string }[]) => list.map((o) => o.path).join(',');
  const submitArgs = [
    ...(files.length ? ['--files', paths(files)] : []),
    ...(pyFiles.length ? ['--py-files', paths(pyFiles)] : []),
    ...(archives.length ? ['--archives', archives.map((a) => (a.alias ? `${a.path}#${a.alias}` : a.path)).join(',')] : []),
    ...(jars.length ? ['--jars', paths(jars)] : []),
    ...(packages.length ? ['--packages', packages.join(',')] : []),
    ...(mainClass ? ['--class', mainClass] : []),
  ];
  const runnerArgs = ctx.objectPathMapping
    ? [
        ...files.map((o) => `--driver-file=${o.path}`),
        ...archives.map((a) => `--driver-archive=${a.alias ? `${a.path}#${a.alias}` : a.path}`),
      ]
    : [];
  const all = ctx.objectPathMapping ? [...files, ...pyFiles, ...archives, ...jars] : [];
  return {
    submitArgs,
    runnerArgs,
    mounts: [...new Set(all.map((o) => o.path))].map((p) => ({ type: 'ro-bind' as const, source: p, target: p })),
    source: {
      files: input.files ?? null,
      pyFiles: input.pyFiles ?? null,
      archives: input.archives ?? null,
      jars: input.jars ?? null,
      packages: input.packages ?? null,
      mainClass,
    },
  };
}
