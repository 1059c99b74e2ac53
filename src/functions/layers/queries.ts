// SQL of layers and their versions.
import type { Db, Tx } from '../../platform/db/client.js';
import type { LayerVersionRow } from './tables.js';

/** The next version number of a layer (making the layer on its first version), locking it until the transaction ends. */
export async function nextLayerVersion(tx: Tx, name: string): Promise<number> {
  const [row] = await tx<{ lastVersion: number }[]>`
    insert into layers (name, last_version) values (${name}, 1)
    on conflict (name) do update set last_version = layers.last_version + 1
    returning last_version`;
  return row!.lastVersion;
}

export async function insertLayerVersion(tx: Tx, v: Omit<LayerVersionRow, 'createdAt'>): Promise<LayerVersionRow> {
  const [row] = await tx<LayerVersionRow[]>`
    insert into layer_versions (layer_name, version, description, compatible_runtimes, code_sha256, code_size)
    values (${v.layerName}, ${v.version}, ${v.description}, ${tx.json(v.compatibleRuntimes)}, ${v.codeSha256}, ${v.codeSize})
    returning *`;
  return row!;
}

export async function layerVersion(db: Db, name: string, version: number): Promise<LayerVersionRow | undefined> {
  const [row] = await db<LayerVersionRow[]>`select * from layer_versions where layer_name = ${name} and version = ${version}`;
  return row;
}

/** A layer's versions, newest first. */
export async function layerVersionsOf(db: Db, name: string): Promise<LayerVersionRow[]> {
  return db<LayerVersionRow[]>`select * from layer_versions where layer_name = ${name} order by version desc`;
}

/** The newest version of every layer that has one (of those compatible with `runtime`, if given), by layer name. */
export async function latestLayerVersions(db: Db, runtime: string | null): Promise<LayerVersionRow[]> {
  return db<LayerVersionRow[]>`
    select distinct on (layer_name) * from layer_versions
    where ${runtime}::text is null or compatible_runtimes ? ${runtime}
    order by layer_name, version desc`;
}

export async function deleteLayerVersionRow(db: Db, name: string, version: number): Promise<LayerVersionRow | undefined> {
  const [row] = await db<LayerVersionRow[]>`delete from layer_versions where layer_name = ${name} and version = ${version} returning *`;
  return row;
}
