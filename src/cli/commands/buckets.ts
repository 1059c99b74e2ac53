// emberplane buckets ls|mb|rb|cp|rm — objects named s3://bucket/key, as the AWS CLI names them
import { statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { EmberplaneClient } from '../../client/client.js';
import { graphql } from '../../client/gql/index.js';
import { CliError, contextOf, EXIT } from '../context.js';
import { printRecord, printRows, progressBar } from '../output.js';

const ListBuckets = graphql(`
  query ListBuckets {
    buckets {
      name
      createdAt
    }
  }
`);

const ListObjects = graphql(`
  query ListObjects($bucket: String!, $prefix: String, $after: String, $delimiter: String) {
    objects(bucket: $bucket, prefix: $prefix, after: $after, delimiter: $delimiter, first: 100) {
      commonPrefixes
      edges {
        node {
          key
          size
          lastModified
          etag
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const CreateBucket = graphql(`
  mutation CreateBucket($name: String!) {
    createBucket(input: { name: $name }) {
      bucket {
        name
        uri
      }
    }
  }
`);

const DeleteBucket = graphql(`
  mutation DeleteBucket($name: String!, $force: Boolean) {
    deleteBucket(input: { name: $name, force: $force }) {
      name
      deletedObjects
    }
  }
`);

/** s3://bucket/key → its parts (key may be empty: the bucket, or a prefix ending in /). */
export function parseS3Uri(uri: string): { bucket: string; key: string } | null {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

async function listAll(client: EmberplaneClient, bucket: string, prefix: string, delimiter: string | null) {
  const objects = [];
  const prefixes: string[] = [];
  let after: string | null = null;
  for (;;) {
    const { objects: page }: Awaited<ReturnType<typeof listPage>> = await listPage(client, bucket, prefix, after, delimiter);
    objects.push(...page.edges.map((e) => e.node));
    prefixes.push(...page.commonPrefixes);
    if (!page.pageInfo.hasNextPage) return { objects, prefixes };
    after = page.pageInfo.endCursor ?? null;
  }
}

async function listPage(client: EmberplaneClient, bucket: string, prefix: string, after: string | null, delimiter: string | null) {
  return client.request(ListObjects, { bucket, prefix: prefix || null, after, delimiter });
}

export function bucketsCommand(): Command {
  const buckets = new Command('buckets').description('buckets and their objects (s3://bucket/key)');

  buckets
    .command('ls')
    .description('without an argument the buckets; with s3://bucket[/prefix] the objects and prefixes under it')
    .argument('[uri]')
    .option('--recursive', 'every object under the prefix, not one level')
    .action(async (uri: string | undefined, opts, command: Command) => {
      const { client, output } = contextOf(command);
      if (!uri) {
        const { buckets: rows } = await client.request(ListBuckets);
        printRows(output, rows, [
          { header: 'CREATED', value: (b) => b.createdAt },
          { header: 'BUCKET', value: (b) => b.name },
        ]);
        return;
      }
      const at = parseS3Uri(uri);
      if (!at) throw new CliError(`not an s3://bucket/prefix URI: ${uri}`, EXIT.USAGE);
      const { objects, prefixes } = await listAll(client, at.bucket, at.key, opts.recursive ? null : '/');
      const rows = [
        ...prefixes.map((p) => ({ key: p, size: null as number | null, lastModified: 'PRE' })),
        ...objects.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified })),
      ];
      printRows(output, rows, [
        { header: 'MODIFIED', value: (o) => o.lastModified },
        { header: 'SIZE', value: (o) => o.size },
        { header: 'KEY', value: (o) => o.key },
      ]);
    });

  buckets
    .command('mb')
    .description('make a bucket')
    .argument('<uri>', 's3://bucket')
    .action(async (uri: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const at = parseS3Uri(uri);
      if (!at || at.key) throw new CliError(`not an s3://bucket URI: ${uri}`, EXIT.USAGE);
      printRecord(output, (await client.request(CreateBucket, { name: at.bucket })).createBucket.bucket);
    });

  buckets
    .command('rb')
    .description('remove a bucket')
    .argument('<uri>', 's3://bucket')
    .option('--force', 'delete its objects too')
    .action(async (uri: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const at = parseS3Uri(uri);
      if (!at || at.key) throw new CliError(`not an s3://bucket URI: ${uri}`, EXIT.USAGE);
      printRecord(output, (await client.request(DeleteBucket, { name: at.bucket, force: Boolean(opts.force) })).deleteBucket);
    });

  buckets
    .command('cp')
    .description('copy a file to an object (upload) or an object to a file (download)')
    .argument('<from>', 'a local file or s3://bucket/key')
    .argument('<to>', 's3://bucket/key (or s3://bucket/prefix/) or a local file or directory')
    .option('--progress', 'show a progress bar on stderr (the default on a terminal)')
    .option('--no-progress', 'no progress bar')
    .action(async (from: string, to: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const source = parseS3Uri(from);
      const target = parseS3Uri(to);
      const showProgress = opts.progress ?? process.stderr.isTTY === true;
      if (!source && target) {
        if (!statSync(from, { throwIfNoEntry: false })?.isFile()) throw new CliError(`${from} is not a file`, EXIT.USAGE);
        const key = !target.key || target.key.endsWith('/') ? `${target.key}${path.basename(from)}` : target.key;
        const bar = progressBar(`upload ${from}`, showProgress);
        const etag = await client.putObject(target.bucket, key, from, bar.update).finally(bar.done);
        printRecord(output, { uri: `s3://${target.bucket}/${key}`, etag, size: statSync(from).size });
      } else if (source && !target) {
        if (!source.key || source.key.endsWith('/')) throw new CliError(`${from} names no object`, EXIT.USAGE);
        const file = statSync(to, { throwIfNoEntry: false })?.isDirectory() ? path.join(to, path.basename(source.key)) : to;
        const bar = progressBar(`download ${from}`, showProgress);
        const size = await client.getObject(source.bucket, source.key, file, bar.update).finally(bar.done);
        printRecord(output, { file, size });
      } else {
        throw new CliError('one side must be s3://bucket/key and the other a local path', EXIT.USAGE);
      }
    });

  buckets
    .command('rm')
    .description('delete an object')
    .argument('<uri>', 's3://bucket/key')
    .action(async (uri: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const at = parseS3Uri(uri);
      if (!at?.key) throw new CliError(`not an s3://bucket/key URI: ${uri}`, EXIT.USAGE);
      await client.deleteObject(at.bucket, at.key);
      printRecord(output, { deleted: uri });
    });

  return buckets;
}
