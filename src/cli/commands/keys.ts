// emberplane keys create|list|revoke
import { Command } from 'commander';
import { graphql } from '../../client/gql/index.js';
import { collect, contextOf } from '../context.js';
import { printRecord, printRows } from '../output.js';

const CreateKey = graphql(`
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      key
      s3AccessKeyId
      s3SecretAccessKey
      apiKey {
        id
        name
        actions
      }
    }
  }
`);

const ListKeys = graphql(`
  query ListKeys {
    apiKeys {
      id
      name
      actions
      createdAt
      revokedAt
      s3AccessKeyId
    }
  }
`);

const RevokeKey = graphql(`
  mutation RevokeKey($id: ID!) {
    revokeApiKey(input: { id: $id }) {
      apiKey {
        id
        name
        revokedAt
      }
    }
  }
`);

export function keysCommand(): Command {
  const keys = new Command('keys').description('API keys');

  keys
    .command('create')
    .description('create a key (shown once: store it now)')
    .requiredOption('--name <name>')
    .option('--action <action>', 'an allowed action, e.g. clusters:Describe* (repeatable; default: none)', collect)
    .option('--s3-credentials', 'also make S3 credentials for the S3 endpoint')
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const created = (
        await client.request(CreateKey, {
          input: { name: opts.name, actions: opts.action ?? [], ...(opts.s3Credentials ? { s3Credentials: true } : {}) },
        })
      ).createApiKey;
      printRecord(output, {
        id: created.apiKey.id,
        name: created.apiKey.name,
        actions: created.apiKey.actions,
        key: created.key,
        ...(created.s3AccessKeyId ? { s3AccessKeyId: created.s3AccessKeyId, s3SecretAccessKey: created.s3SecretAccessKey } : {}),
      });
    });

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .action(async (_opts, command: Command) => {
      const { client, output } = contextOf(command);
      printRows(output, (await client.request(ListKeys)).apiKeys, [
        { header: 'ID', value: (k) => k.id },
        { header: 'NAME', value: (k) => k.name },
        { header: 'ACTIONS', value: (k) => k.actions.join(',') },
        { header: 'CREATED', value: (k) => k.createdAt },
        { header: 'REVOKED', value: (k) => k.revokedAt },
      ]);
    });

  keys
    .command('revoke')
    .description('revoke a key: it stops working at once, also on open subscriptions')
    .argument('<key-id>')
    .action(async (id: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      printRecord(output, (await client.request(RevokeKey, { id })).revokeApiKey.apiKey);
    });

  return keys;
}
