// Stored code packages (DATA_DIR/functions/packages/<sha256>.zip) that nothing refers to any more
// are removed once unused for FUNCTION_PACKAGE_GRACE_SECONDS: code an update replaced (unless a
// version keeps it), deleted functions' and layer versions' code, temp files of a store cut short.
// What a function, a version or a layer version refers to stays and runs. Ages are set on the files
// (the grace is an hour) rather than waited for.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashOf } from '../../src/functions/code-store.js';
import { DELETE_FUNCTION, deploy, invoke, UPDATE_CODE, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PUBLISH = `mutation($input: PublishVersionInput!) { publishVersion(input: $input) { version { version codeSha256 } } }`;
const PUBLISH_LAYER = `mutation($input: PublishLayerVersionInput!) { publishLayerVersion(input: $input) { layerVersion { version codeSha256 } } }`;
const DELETE_LAYER = `mutation($input: DeleteLayerVersionInput!) { deleteLayerVersion(input: $input) { deleted } }`;
const GRACE_SECONDS = 3_600;

let server: TestServer;
let packages: string;

beforeAll(async () => {
  // a sweep every 100 ms: the test waits on the files, not on the period
  server = await startTestServer({ functionPackageSweepMs: 100, functionPackageGraceSeconds: GRACE_SECONDS });
  packages = path.join(server.dataDir, 'functions', 'packages');
});
afterAll(async () => {
  await server?.close();
});

const code = (v: string) => ({ files: [{ path: 'index.js', content: `exports.handler = async () => '${v}';` }] });
const fileOf = (codeSha256: string) => path.join(packages, `${hashOf(codeSha256)}.zip`);
const exists = (file: string) =>
  fs.stat(file).then(
    () => true,
    () => false,
  );
/** last stored longer ago than the grace */
async function age(file: string): Promise<void> {
  const then = new Date(Date.now() - 2 * GRACE_SECONDS * 1_000);
  await fs.utimes(file, then, then);
}
const sha = async (name: string) => (await waitForActive(server, name)).codeSha256 as string;

it('packages nothing refers to go once unused for the grace; what a function, a version or a layer version refers to stays and runs', async () => {
  await deploy(server, { name: 'pkg', runtime: 'NODEJS20', handler: 'index.handler', code: code('one') });
  const kept = (await server.data(PUBLISH, { input: { functionName: 'pkg' } })).publishVersion.version.codeSha256;
  await server.data(UPDATE_CODE, { input: { functionName: 'pkg', code: code('two') } });
  const replaced = await sha('pkg');
  await server.data(UPDATE_CODE, { input: { functionName: 'pkg', code: code('three') } });
  const latest = await sha('pkg');
  await deploy(server, { name: 'pkg-gone', runtime: 'NODEJS20', handler: 'index.handler', code: code('gone') });
  const deleted = await sha('pkg-gone');
  await server.data(DELETE_FUNCTION, { name: 'pkg-gone' });
  const layer = (
    await server.data(PUBLISH_LAYER, {
      input: { layerName: 'pkg-layer', content: { files: [{ path: 'nodejs/node_modules/l/index.js', content: 'module.exports = 1;' }] } },
    })
  ).publishLayerVersion.layerVersion;
  // what a crash between writing a package and renaming it into place leaves, and one being written now
  const crashed = path.join(packages, `${hashOf(latest)}.zip.0badc0de.tmp`);
  const writing = path.join(packages, `${hashOf(latest)}.zip.0fresh00.tmp`);
  await fs.writeFile(crashed, 'partial');
  await fs.writeFile(writing, 'partial');

  const all = [kept, replaced, latest, deleted, layer.codeSha256].map(fileOf);
  for (const file of all) expect(await exists(file)).toBe(true);
  for (const file of [...all, crashed]) await age(file);

  await waitUntil(
    async () => !(await exists(fileOf(replaced))) && !(await exists(fileOf(deleted))) && !(await exists(crashed)),
    'the unused packages to be removed',
  );
  for (const file of [fileOf(kept), fileOf(latest), fileOf(layer.codeSha256), writing]) expect(await exists(file)).toBe(true);
  expect((await invoke(server, { functionName: 'pkg', qualifier: '1' })).payload).toBe('one');
  expect((await invoke(server, { functionName: 'pkg' })).payload).toBe('three');

  // a layer version deleted: its code goes too
  expect((await server.data(DELETE_LAYER, { input: { layerName: 'pkg-layer', version: layer.version } })).deleteLayerVersion.deleted).toBe(
    true,
  );
  await waitUntil(async () => !(await exists(fileOf(layer.codeSha256))), 'the deleted layer version’s package to be removed');
  await fs.rm(writing);
});

it('the same bytes stored again count as just used: the package is not taken from the function about to refer to it', async () => {
  await deploy(server, { name: 'pkg-again', runtime: 'NODEJS20', handler: 'index.handler', code: code('again') });
  const file = fileOf(await sha('pkg-again'));
  // old, but referenced: the sweep leaves it; stored again by another function, it is fresh
  await age(file);
  const before = (await fs.stat(file)).mtimeMs;
  await deploy(server, { name: 'pkg-again-2', runtime: 'NODEJS20', handler: 'index.handler', code: code('again') });
  expect((await fs.stat(file)).mtimeMs).toBeGreaterThan(before + GRACE_SECONDS * 1_000);
  expect((await invoke(server, { functionName: 'pkg-again-2' })).payload).toBe('again');
});

it('a deleted layer version that a function or a published version still lists keeps its package: their instances start with it', async () => {
  const published = (
    await server.data(PUBLISH_LAYER, {
      input: {
        layerName: 'pkg-listed',
        content: { files: [{ path: 'nodejs/node_modules/listed/index.js', content: "module.exports = 'from the layer';" }] },
      },
    })
  ).publishLayerVersion.layerVersion;
  const arn = `arn:aws:lambda:local:000000000000:layer:pkg-listed:${published.version}`;
  const handler = [{ path: 'index.js', content: "exports.handler = async () => require('listed');" }];
  // $LATEST lists the layer; the other function's version 1 lists it, its $LATEST no more
  await deploy(server, { name: 'pkg-listing', runtime: 'NODEJS20', handler: 'index.handler', code: { files: handler }, layers: [arn] });
  await deploy(server, { name: 'pkg-versioned', runtime: 'NODEJS20', handler: 'index.handler', code: { files: handler }, layers: [arn] });
  await server.data(PUBLISH, { input: { functionName: 'pkg-versioned' } });
  await server.data(UPDATE_CONFIG, { input: { functionName: 'pkg-versioned', layers: [] } });
  expect(
    (await server.data(DELETE_LAYER, { input: { layerName: 'pkg-listed', version: published.version } })).deleteLayerVersion.deleted,
  ).toBe(true);
  await age(fileOf(published.codeSha256));

  // two unused packages, the second made after the first is gone: a whole sweep has run after the aging
  for (const name of ['first', 'second']) {
    const unused = path.join(packages, `${name}.zip.0badc0de.tmp`);
    await fs.writeFile(unused, 'partial');
    await age(unused);
    await waitUntil(async () => !(await exists(unused)), `the ${name} unused package to be removed`);
  }
  expect(await exists(fileOf(published.codeSha256))).toBe(true);
  // neither has run yet: their first instances unpack the layer now
  expect((await invoke(server, { functionName: 'pkg-listing' })).payload).toBe('from the layer');
  expect((await invoke(server, { functionName: 'pkg-versioned', qualifier: '1' })).payload).toBe('from the layer');
});

it('code an update replaced counts as just used, and a package a sweep set aside but did not remove is put back while something refers to it', async () => {
  await deploy(server, { name: 'pkg-replaced', runtime: 'NODEJS20', handler: 'index.handler', code: code('before') });
  const before = fileOf(await sha('pkg-replaced'));
  await age(before);
  const aged = (await fs.stat(before)).mtimeMs;
  await server.data(UPDATE_CODE, { input: { functionName: 'pkg-replaced', code: code('after') } });
  // an instance starting as the update lands may still fetch the code it replaced: the grace starts now
  expect((await fs.stat(before)).mtimeMs).toBeGreaterThan(aged + GRACE_SECONDS * 1_000);

  // a sweep that died between setting a package aside and putting it back (its ".sweeping" name)
  const current = fileOf(await sha('pkg-replaced'));
  const aside = `${current}.deadbeef.sweeping`;
  await fs.rename(current, aside);
  await waitUntil(async () => (await exists(current)) && !(await exists(aside)), 'the package to be put back');
  expect((await invoke(server, { functionName: 'pkg-replaced' })).payload).toBe('after');
});
