// Layers through the API with real runtimes: publishLayerVersion (inline files or a bucket object),
// immutable numbered versions, the layerVersions/layers queries and deleteLayerVersion; functions list
// up to 5 layer versions in order and their instances see them at /opt (Node's nodejs/node_modules
// for require and import, Python's python/ and python/lib/python3.11/site-packages, /opt/bin on
// PATH), a later layer's files replacing an earlier one's; using a layer needs functions:GetLayerVersion.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/engine/functions/zip.js';
import { expectError } from '../support/api.js';
import { CREATE_FUNCTION, deploy, GET_FUNCTION, invoke, UPDATE_CODE, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { objectRequest } from '../support/objects.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const VERSION_FIELDS = 'layerName version layerArn layerVersionArn description compatibleRuntimes codeSha256 codeSize createdAt';
const PUBLISH = `mutation($input: PublishLayerVersionInput!) { publishLayerVersion(input: $input) { layerVersion { ${VERSION_FIELDS} } } }`;
const DELETE = `mutation($input: DeleteLayerVersionInput!) { deleteLayerVersion(input: $input) { deleted } }`;
const ARN = 'arn:aws:lambda:local:000000000000:layer:';

type Files = Array<{ path: string; content: string; executable?: boolean }>;
const publish = async (layerName: string, files: Files, extra: Record<string, unknown> = {}) =>
  (await server.data(PUBLISH, { input: { layerName, content: { files }, ...extra } })).publishLayerVersion.layerVersion;

/** a Node module `name` in a layer, as Lambda's layout has it (nodejs/node_modules/<name>) */
const nodeModule = (name: string, body: string) => [
  { path: `nodejs/node_modules/${name}/package.json`, content: JSON.stringify({ name, main: 'index.js' }) },
  { path: `nodejs/node_modules/${name}/index.js`, content: body },
];

// an ES module handler importing a module it does not package, reading /opt and running a layer's program from PATH
const NODE_HANDLER = `
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { greet } from 'greeter';
export const handler = async () => ({
  greeting: greet('Ada'),
  required: createRequire(import.meta.url)('greeter').greet('Bo'),
  which: fs.readFileSync('/opt/which.txt', 'utf8'),
  tool: execFileSync('layer-tool', { encoding: 'utf8' }).trim(),
});
`;

const call = async (name: string) => {
  const res = await invoke(server, { functionName: name, payload: {} });
  expect(res.functionError, JSON.stringify(res.payload)).toBeNull();
  return res.payload;
};

describe('layers', () => {
  let greeterV1: any;
  let other: any;

  it('publishes numbered, immutable versions from inline files or a bucket object, and lists them', async () => {
    greeterV1 = await publish(
      'greeter',
      [
        ...nodeModule('greeter', `exports.greet = (n) => 'hello ' + n + ' from v1';`),
        { path: 'which.txt', content: 'greeter' },
        { path: 'bin/layer-tool', content: '#!/bin/sh\necho tool from the layer\n', executable: true },
      ],
      { description: 'greets', compatibleRuntimes: ['NODEJS20'] },
    );
    expect(greeterV1).toMatchObject({
      layerName: 'greeter',
      version: 1,
      layerArn: `${ARN}greeter`,
      layerVersionArn: `${ARN}greeter:1`,
      description: 'greets',
      compatibleRuntimes: ['NODEJS20'],
      codeSha256: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
    // the second version is a new version; the first stays as it was
    const v2 = await publish('greeter', nodeModule('greeter', `exports.greet = (n) => 'hello ' + n + ' from v2';`));
    expect(v2).toMatchObject({ version: 2, layerVersionArn: `${ARN}greeter:2`, compatibleRuntimes: [] });
    expect((await server.data(`{ layerVersion(layerName: "greeter", version: 1) { ${VERSION_FIELDS} } }`)).layerVersion).toEqual(greeterV1);

    // content from a bucket object, as function code
    await server.data(`mutation { createBucket(input: { name: "layer-zips" }) { bucket { name } } }`);
    const zip = writeZip([{ path: 'which.txt', content: Buffer.from('other') }]);
    expect((await objectRequest(server.url, 'PUT', '/objects/layer-zips/other.zip', { key: server.key, body: zip })).status).toBe(200);
    other = (
      await server.data(PUBLISH, {
        input: { layerName: 'other', content: { s3Uri: 's3://layer-zips/other.zip' }, compatibleRuntimes: ['NODEJS20', 'PYTHON311'] },
      })
    ).publishLayerVersion.layerVersion;
    expect(other).toMatchObject({ version: 1, codeSize: zip.length });

    expect((await server.data(`{ layerVersions(layerName: "greeter") { version } }`)).layerVersions).toEqual([
      { version: 2 },
      { version: 1 },
    ]);
    const layers = (await server.data(`{ layers { layerName latestMatchingVersion { version } } }`)).layers;
    expect(layers).toEqual([
      { layerName: 'greeter', latestMatchingVersion: { version: 2 } },
      { layerName: 'other', latestMatchingVersion: { version: 1 } },
    ]);
    // the newest version compatible with the runtime asked for
    expect((await server.data(`{ layers(compatibleRuntime: NODEJS20) { layerName latestMatchingVersion { version } } }`)).layers).toEqual([
      { layerName: 'greeter', latestMatchingVersion: { version: 1 } },
      { layerName: 'other', latestMatchingVersion: { version: 1 } },
    ]);
  });

  it('a Node handler imports (and requires) a module from a layer, reads /opt and runs /opt/bin from PATH; the later layer wins', async () => {
    const fn = await deploy(server, {
      name: 'layered-node',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.mjs', content: NODE_HANDLER }] },
      layers: [greeterV1.layerVersionArn, other.layerVersionArn],
    });
    expect((await server.data(`{ function(name: "layered-node") { layers { arn codeSize } } }`)).function.layers).toEqual([
      { arn: greeterV1.layerVersionArn, codeSize: greeterV1.codeSize },
      { arn: other.layerVersionArn, codeSize: other.codeSize },
    ]);
    expect(fn.state).toBe('ACTIVE');
    // both layers have which.txt: the later one's is there
    expect(await call('layered-node')).toEqual({
      greeting: 'hello Ada from v1',
      required: 'hello Bo from v1',
      which: 'other',
      tool: 'tool from the layer',
    });

    const published = (await server.data(`mutation { publishVersion(input: { functionName: "layered-node" }) { version { version } } }`))
      .publishVersion.version.version;

    // the other order: the greeter's file wins
    await server.data(UPDATE_CONFIG, {
      input: { functionName: 'layered-node', layers: [other.layerVersionArn, greeterV1.layerVersionArn] },
    });
    await waitForActive(server, 'layered-node');
    expect((await call('layered-node')).which).toBe('greeter');
    // the published version keeps the layers it was published with
    const v1 = await invoke(server, { functionName: 'layered-node', qualifier: published, payload: {} });
    expect(v1.payload.which).toBe('other');
  });

  it('a Python handler imports from a layer (python/ and python/lib/python3.11/site-packages)', async () => {
    const py = await publish('pylib', [
      { path: 'python/shapes.py', content: 'def area(w, h):\n    return w * h\n' },
      { path: 'python/lib/python3.11/site-packages/units.py', content: 'UNIT = "m2"\n' },
    ]);
    await deploy(server, {
      name: 'layered-py',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: {
        files: [
          {
            path: 'app.py',
            content:
              'import shapes\nimport units\n\ndef handler(event, context):\n    return {"area": shapes.area(3, 4), "unit": units.UNIT, "from": shapes.__file__}\n',
          },
        ],
      },
      layers: [py.layerVersionArn],
    });
    expect(await call('layered-py')).toEqual({ area: 12, unit: 'm2', from: '/opt/python/shapes.py' });
  });

  it("a native library in a layer's lib/ is found by the dynamic loader (LD_LIBRARY_PATH, as Lambda's /opt/lib)", async () => {
    // the system's zlib under a name only the layer has
    const zlib = fs.readFileSync('/usr/lib/x86_64-linux-gnu/libz.so.1');
    const zipBase64 = writeZip([{ path: 'lib/libemberplane-test.so', content: zlib }]).toString('base64');
    const native = (await server.data(PUBLISH, { input: { layerName: 'native', content: { zipBase64 } } })).publishLayerVersion
      .layerVersion;
    await deploy(server, {
      name: 'layered-native',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: {
        files: [
          {
            path: 'app.py',
            content:
              'import ctypes\n\ndef handler(event, context):\n    lib = ctypes.CDLL("libemberplane-test.so")\n    lib.zlibVersion.restype = ctypes.c_char_p\n    return lib.zlibVersion().decode()\n',
          },
        ],
      },
      layers: [native.layerVersionArn],
    });
    expect(await call('layered-native')).toMatch(/^1\.\d+/);
  });

  it('a sixth layer, a malformed or unknown ARN and two versions of one layer are field errors; nothing changes', async () => {
    const six = [];
    for (let i = 0; i < 6; i++) six.push((await publish(`many-${i}`, [{ path: `f${i}.txt`, content: String(i) }])).layerVersionArn);
    const base = {
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => 1;' }] },
    };
    const create = (name: string, layers: string[]) => server.gql(CREATE_FUNCTION, { input: { ...base, name, layers } });
    expectError(await create('six-layers', six), 'BAD_USER_INPUT', 'input.layers');
    expect((await server.data(GET_FUNCTION, { name: 'six-layers' })).function).toBeNull();
    expectError(await create('bad-arn', ['greeter:1']), 'BAD_USER_INPUT', 'input.layers.0');
    expectError(await create('unknown', [`${ARN}greeter:1`, `${ARN}no-such-layer:1`]), 'NOT_FOUND', 'input.layers.1');
    expectError(await create('huge-version', [`${ARN}greeter:9999999999`]), 'NOT_FOUND', 'input.layers.0');
    expectError(await create('twice', [`${ARN}greeter:1`, `${ARN}greeter:2`]), 'BAD_USER_INPUT', 'input.layers.1');

    // five are fine; on an update too, and the sixth is refused there, leaving the five
    await deploy(server, { ...base, name: 'five-layers', layers: six.slice(0, 5) });
    expectError(await server.gql(UPDATE_CONFIG, { input: { functionName: 'five-layers', layers: six } }), 'BAD_USER_INPUT', 'input.layers');
    const fn = (await server.data(`{ function(name: "five-layers") { layers { arn } } }`)).function;
    expect(fn.layers.map((l: any) => l.arn)).toEqual(six.slice(0, 5));
    // [] removes them
    await server.data(UPDATE_CONFIG, { input: { functionName: 'five-layers', layers: [] } });
    expect((await server.data(`{ function(name: "five-layers") { layers { arn } } }`)).function.layers).toEqual([]);
  });

  it('code and layers together at most 250 MB unzipped (as the code alone): over it on create, code update or layers update is PAYLOAD_TOO_LARGE and changes nothing', async () => {
    const LIMIT = 250 * 1024 * 1024;
    // zeros deflate to almost nothing: zips far under the 50 MB zipped limit that unpack to `bytes`
    const zipOf = (name: string, bytes: number) => writeZip([{ path: name, content: Buffer.alloc(bytes) }]).toString('base64');
    const big = async (layerName: string, bytes: number) =>
      (await server.data(PUBLISH, { input: { layerName, content: { zipBase64: zipOf(`${layerName}.bin`, bytes) } } })).publishLayerVersion
        .layerVersion.layerVersionArn;
    const handler = { path: 'index.js', content: 'exports.handler = async () => 1;' };
    const codeOf = (bytes: number) => ({
      zipBase64: writeZip([
        { path: 'index.js', content: Buffer.from(handler.content) },
        { path: 'pad.bin', content: Buffer.alloc(bytes) },
      ]).toString('base64'),
    });
    const combined = (total: number) =>
      `Function code combined with layers exceeds the maximum allowed size of ${LIMIT} bytes. The actual size is ${total} bytes.`;
    const handlerBytes = Buffer.byteLength(handler.content);

    // the code alone over the limit (no layers): refused as before
    const alone = await server.gql(CREATE_FUNCTION, {
      input: { name: 'too-big-alone', runtime: 'NODEJS20', handler: 'index.handler', code: codeOf(LIMIT - handlerBytes + 1) },
    });
    expectError(alone, 'PAYLOAD_TOO_LARGE', 'input.code.zipBase64');
    const half = await big('half', LIMIT / 2);
    const rest = await big('rest', LIMIT / 2 - handlerBytes);
    // code + two layers exactly at the limit is fine; a byte more is not
    const base = { runtime: 'NODEJS20', handler: 'index.handler', code: { files: [handler] } };
    const over = await server.gql(CREATE_FUNCTION, { input: { ...base, name: 'too-big', code: codeOf(1), layers: [half, rest] } });
    expectError(over, 'PAYLOAD_TOO_LARGE', 'input.layers');
    expect(over.errors![0]!.message).toBe(combined(LIMIT + 1));
    expect((await server.data(GET_FUNCTION, { name: 'too-big' })).function).toBeNull();
    // Active first: a function still Pending refuses any update (CONFLICT) before its size is looked at
    const fits = await deploy(server, { ...base, name: 'just-fits', layers: [half, rest] });

    // its code grown by a byte: refused, the code stays
    const grown = await server.gql(UPDATE_CODE, { input: { functionName: 'just-fits', code: codeOf(1) } });
    expectError(grown, 'PAYLOAD_TOO_LARGE', 'input.code');
    expect(grown.errors![0]!.message).toBe(combined(LIMIT + 1));
    // a third layer: refused, the two stay
    const third = await big('third', 1);
    const more = await server.gql(UPDATE_CONFIG, { input: { functionName: 'just-fits', layers: [half, rest, third] } });
    expectError(more, 'PAYLOAD_TOO_LARGE', 'input.layers');
    const after = (await server.data(`{ function(name: "just-fits") { codeSha256 layers { arn } } }`)).function;
    expect(after).toEqual({ codeSha256: fits.codeSha256, layers: [{ arn: half }, { arn: rest }] });
  });

  it('a key without functions:GetLayerVersion may not use a layer, nor one without PublishLayerVersion publish, nor one without buckets:GetObject publish a bucket object', async () => {
    const narrow = (
      await server.data(
        `mutation { createApiKey(input: { name: "no-layers", actions: ["functions:CreateFunction", "functions:GetFunction"] }) { key } }`,
      )
    ).createApiKey.key;
    const input = {
      name: 'narrow-layered',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => 1;' }] },
      layers: [greeterV1.layerVersionArn],
    };
    expectError(await server.gql(CREATE_FUNCTION, { input }, narrow), 'FORBIDDEN', 'input.layers');
    expect((await server.data(GET_FUNCTION, { name: 'narrow-layered' })).function).toBeNull();
    expectError(
      await server.gql(PUBLISH, { input: { layerName: 'sneaky', content: { files: [{ path: 'a', content: 'a' }] } } }, narrow),
      'FORBIDDEN',
    );
    expect((await server.data(`{ layerVersions(layerName: "sneaky") { version } }`)).layerVersions).toEqual([]);

    // a zip from a bucket needs buckets:GetObject: a layer or function would otherwise hand the object to a key that may not read it
    const publisher = (
      await server.data(
        `mutation { createApiKey(input: { name: "no-objects", actions: ["functions:PublishLayerVersion", "functions:ListLayerVersions", "functions:CreateFunction"] }) { key } }`,
      )
    ).createApiKey.key;
    const fromBucket = { s3Uri: 's3://layer-zips/other.zip' };
    expectError(await server.gql(PUBLISH, { input: { layerName: 'laundered', content: fromBucket } }, publisher), 'FORBIDDEN');
    expect((await server.data(`{ layerVersions(layerName: "laundered") { version } }`)).layerVersions).toEqual([]);
    expectError(
      await server.gql(CREATE_FUNCTION, { input: { ...input, name: 'laundered', layers: [], code: fromBucket } }, publisher),
      'FORBIDDEN',
    );
    expect((await server.data(GET_FUNCTION, { name: 'laundered' })).function).toBeNull();
  });

  it("a zip whose entries would land outside /opt, replace /opt itself or cross (file and directory) is refused; racing publishes get distinct numbers; a later layer's directory replaces a file", async () => {
    const hostile = [
      { path: '../escaped.txt', content: Buffer.from('x') },
      { path: '/etc/escaped.txt', content: Buffer.from('x') },
      { path: 'nodejs/link', content: Buffer.from('/etc/passwd'), mode: 0o120777 },
      // a file named for the layer's root: unpacked after another layer, it would take /opt's place
      { path: '.', content: Buffer.from('x') },
      // a file that other entries need as a directory
      { path: 'ok.txt/inner', content: Buffer.from('x') },
    ];
    for (const entry of hostile) {
      const zipBase64 = writeZip([{ path: 'ok.txt', content: Buffer.from('ok') }, entry]).toString('base64');
      const res = await server.gql(PUBLISH, { input: { layerName: 'hostile', content: { zipBase64 } } });
      expectError(res, 'BAD_USER_INPUT', 'input.content.zipBase64');
    }
    expect((await server.data(`{ layerVersions(layerName: "hostile") { version } }`)).layerVersions).toEqual([]);

    // publishes of one layer at the same moment: each its own number, none lost
    const raced = await Promise.all(Array.from({ length: 6 }, (_, i) => publish('racing', [{ path: 'n.txt', content: String(i) }])));
    expect(raced.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);

    // a later layer's directory replaces an earlier layer's file of that name (and the reverse)
    const fileA = await publish('file-a', [{ path: 'a', content: 'file' }]);
    const dirA = await publish('dir-a', [{ path: 'a/b', content: 'nested' }]);
    await deploy(server, {
      name: 'layers-crossing',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: `exports.handler = async () => require('fs').readFileSync('/opt/a/b', 'utf8');` }] },
      layers: [fileA.layerVersionArn, dirA.layerVersionArn],
    });
    expect(await call('layers-crossing')).toBe('nested');
  });

  it('a deleted version is gone from the lists, its number is not reused, and functions listing it keep it', async () => {
    expect((await server.data(DELETE, { input: { layerName: 'greeter', version: 1 } })).deleteLayerVersion.deleted).toBe(true);
    expect((await server.data(DELETE, { input: { layerName: 'greeter', version: 1 } })).deleteLayerVersion.deleted).toBe(false);
    expect((await server.data(`{ layerVersions(layerName: "greeter") { version } }`)).layerVersions).toEqual([{ version: 2 }]);
    expect((await publish('greeter', [{ path: 'x', content: 'x' }])).version).toBe(3);
    // a new instance of the function still gets the deleted version's files
    await server.data(UPDATE_CONFIG, { input: { functionName: 'layered-node', memoryMb: 256 } });
    await waitForActive(server, 'layered-node');
    expect(await call('layered-node')).toMatchObject({ greeting: 'hello Ada from v1', which: 'greeter' });
  });
});
