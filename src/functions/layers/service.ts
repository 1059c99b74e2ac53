// Layers: publishing a version (a zip like function code: inline, base64 or a bucket object),
// reading and deleting versions, and what a function's list of layer ARNs resolves to. A version
// is immutable: there is no update, only a new version.
import { ACCOUNT, REGION } from '../../platform/aws-account.js';
import { isAllowed, type Principal } from '../../platform/authorization.js';
import type { Sql } from '../../platform/db/client.js';
import { AppError, badInput, notFound } from '../../platform/errors.js';
import { requireIdentifier } from '../../platform/validate.js';
import type { CodeInput, FunctionCodeStore } from '../code-store.js';
import { RUNTIMES } from '../functions.js';
import type { FunctionLayer, FunctionRuntimeName } from '../tables.js';
import * as q from './queries.js';
import type { LayerVersionRow } from './tables.js';

const LayerLimits = {
  /** layers one function may list (Lambda's) */
  perFunction: 5,
  nameLength: 64,
  descriptionLength: 256,
} as const;

/** What reading a layer version takes: using one in a function's configuration needs it too. */
export const GET_LAYER_VERSION_ACTION = 'functions:GetLayerVersion';

const LAYER_ARN_PREFIX = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:`;
export const layerArn = (name: string) => `${LAYER_ARN_PREFIX}${name}`;
export const layerVersionArn = (v: Pick<LayerVersionRow, 'layerName' | 'version'>) => `${layerArn(v.layerName)}:${v.version}`;

const requireLayerName = (name: string, field: string) => requireIdentifier(name, field, LayerLimits.nameLength);

/** A layer version ARN's name and number, or a field error. */
function parseVersionArn(arn: unknown, field: string): { name: string; version: number } {
  const m =
    typeof arn === 'string' && arn.startsWith(LAYER_ARN_PREFIX)
      ? /^([A-Za-z0-9_-]{1,64}):([1-9][0-9]{0,9})$/.exec(arn.slice(LAYER_ARN_PREFIX.length))
      : null;
  if (!m) throw badInput(field, `must be a layer version ARN (${LAYER_ARN_PREFIX}<name>:<version>)`);
  const version = Number(m[2]);
  // past what a version number column holds: no such version was ever published
  if (version > 2 ** 31 - 1) throw notFound('layer version', arn as string, field);
  return { name: m[1]!, version };
}

export interface PublishLayerVersionInput {
  layerName: string;
  description?: string | null;
  compatibleRuntimes?: string[] | null;
  content: CodeInput;
}

export class LayerService {
  constructor(
    private readonly sql: Sql,
    private readonly code: FunctionCodeStore,
  ) {}

  async publish(caller: Principal, input: PublishLayerVersionInput): Promise<LayerVersionRow> {
    const layerName = requireLayerName(input.layerName, 'layerName');
    const description = input.description ?? '';
    if (description.length > LayerLimits.descriptionLength)
      throw badInput('description', `must be at most ${LayerLimits.descriptionLength} characters`);
    const compatibleRuntimes: FunctionRuntimeName[] = [];
    (input.compatibleRuntimes ?? []).forEach((r, i) => {
      if (!RUNTIMES.includes(r as FunctionRuntimeName)) throw badInput(`compatibleRuntimes.${i}`, `must be one of ${RUNTIMES.join(', ')}`);
      if (compatibleRuntimes.includes(r as FunctionRuntimeName)) throw badInput(`compatibleRuntimes.${i}`, `lists ${r} twice`);
      compatibleRuntimes.push(r as FunctionRuntimeName);
    });
    const stored = await this.code.store(input.content, 'content', caller);
    return this.sql.begin(async (tx) => {
      const version = await q.nextLayerVersion(tx, layerName);
      return q.insertLayerVersion(tx, {
        layerName,
        version,
        description,
        compatibleRuntimes,
        codeSha256: stored.sha256,
        codeSize: stored.size,
      });
    });
  }

  async version(layerName: string, version: number): Promise<LayerVersionRow | null> {
    return (await q.layerVersion(this.sql, requireLayerName(layerName, 'layerName'), version)) ?? null;
  }

  /** Every layer with a version, by name, each with its newest version (optionally only those compatible with a runtime). */
  layers(compatibleRuntime: FunctionRuntimeName | null): Promise<LayerVersionRow[]> {
    return q.latestLayerVersions(this.sql, compatibleRuntime);
  }

  async versions(layerName: string): Promise<LayerVersionRow[]> {
    return q.layerVersionsOf(this.sql, requireLayerName(layerName, 'layerName'));
  }

  /**
   * Deletes a version (its number is not given out again); the functions that list it keep it, as on
   * Lambda (the zip stays stored). Null when there was no such version: deleting is idempotent.
   */
  async delete(layerName: string, version: number): Promise<LayerVersionRow | null> {
    return (await q.deleteLayerVersionRow(this.sql, requireLayerName(layerName, 'layerName'), version)) ?? null;
  }

  /**
   * A function's `layers` input: at most 5 layer version ARNs, in order, each existing, at most one
   * version of a layer, and the caller allowed to read them (functions:GetLayerVersion).
   */
  async forFunction(caller: Principal, arns: unknown, field: string): Promise<FunctionLayer[]> {
    if (!Array.isArray(arns)) throw badInput(field, 'must be a list of layer version ARNs');
    if (arns.length > LayerLimits.perFunction) throw badInput(field, `must list at most ${LayerLimits.perFunction} layer versions`);
    if (arns.length > 0 && !isAllowed(caller, GET_LAYER_VERSION_ACTION))
      throw new AppError('FORBIDDEN', `this API key may not perform ${GET_LAYER_VERSION_ACTION}, which using a layer needs`, field);
    const out: FunctionLayer[] = [];
    const names = new Set<string>();
    for (const [i, arn] of arns.entries()) {
      const { name, version } = parseVersionArn(arn, `${field}.${i}`);
      if (names.has(name))
        throw badInput(`${field}.${i}`, `lists a second version of layer ${name}: a function takes one version of a layer`);
      names.add(name);
      const row = await q.layerVersion(this.sql, name, version);
      if (!row) throw notFound('layer version', arn as string, `${field}.${i}`);
      out.push({ arn: layerVersionArn(row), codeSha256: row.codeSha256, codeSize: row.codeSize });
    }
    return out;
  }
}
