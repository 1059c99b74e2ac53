// emberplane functions deploy|invoke|logs|publish|alias|list
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { zipSync, type Zippable } from 'fflate';
import type { EmberplaneClient } from '../../client/client.js';
import { followFunction } from '../../client/follow.js';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { graphql } from '../../client/gql/index.js';
import type { Runtime } from '../../client/gql/graphql.js';
import { waitFor } from '../../client/wait.js';
import { CliError, contextOf, EXIT, pairs, wholeNumber } from '../context.js';
import { printJson, printLine, printRecord, printRows } from '../output.js';

// a fragment the documents below spread (...FunctionFields); codegen reads it from this call
graphql(`
  fragment FunctionFields on Function {
    name
    arn
    runtime
    handler
    memoryMb
    timeoutSeconds
    codeSha256
    codeSize
    state
    stateReason
    lastUpdateStatus
    lastUpdateStatusReason
    lastModifiedAt
  }
`);

const GetFunction = graphql(`
  query GetFunction($name: String!) {
    function(name: $name) {
      ...FunctionFields
    }
  }
`);

const ListFunctions = graphql(`
  query ListFunctions($after: String) {
    functions(first: 100, after: $after) {
      edges {
        node {
          ...FunctionFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const CreateFunction = graphql(`
  mutation CreateFunction($input: CreateFunctionInput!) {
    createFunction(input: $input) {
      function {
        ...FunctionFields
      }
    }
  }
`);

const UpdateCode = graphql(`
  mutation UpdateCode($input: UpdateFunctionCodeInput!) {
    updateFunctionCode(input: $input) {
      function {
        ...FunctionFields
      }
    }
  }
`);

const UpdateConfiguration = graphql(`
  mutation UpdateConfiguration($input: UpdateFunctionConfigurationInput!) {
    updateFunctionConfiguration(input: $input) {
      function {
        ...FunctionFields
      }
    }
  }
`);

const Invoke = graphql(`
  mutation Invoke($input: InvokeFunctionInput!) {
    invokeFunction(input: $input) {
      statusCode
      executedVersion
      functionError
      payload
      logResult
      invocation {
        id
        durationMs
        billedDurationMs
        coldStart
      }
    }
  }
`);

const Publish = graphql(`
  mutation Publish($input: PublishVersionInput!) {
    publishVersion(input: $input) {
      version {
        version
        codeSha256
        description
        createdAt
      }
    }
  }
`);

const Aliases = graphql(`
  query Aliases($name: String!) {
    function(name: $name) {
      aliases {
        name
      }
    }
  }
`);

// a fragment the alias mutations below spread (...AliasFields); codegen reads it from this call
graphql(`
  fragment AliasFields on Alias {
    name
    functionVersion
    arn
    routing {
      additionalVersionWeights {
        version
        weight
      }
    }
  }
`);

const CreateAlias = graphql(`
  mutation CreateAlias($input: CreateAliasInput!) {
    createAlias(input: $input) {
      alias {
        ...AliasFields
      }
    }
  }
`);

const UpdateAlias = graphql(`
  mutation UpdateAlias($input: UpdateAliasInput!) {
    updateAlias(input: $input) {
      alias {
        ...AliasFields
      }
    }
  }
`);

// a deployment package as Lambda takes it: up to 50 MB zipped
const MAX_PACKAGE_BYTES = 50 * 1024 * 1024;

/** The directory as a zip (files and their executable bits), the way `zip -r` of its contents would. */
function zipDirectory(dir: string): Buffer {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${dir} is not a directory`, EXIT.USAGE);
  const files: Zippable = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) {
        const mode = statSync(path.join(dir, name)).mode;
        // the Unix mode in the entry's external attributes: executables stay executable
        files[name] = [readFileSync(path.join(dir, name)), { os: 3, attrs: (mode & 0o777) << 16 }];
      }
    }
  };
  walk('');
  if (Object.keys(files).length === 0) throw new CliError(`${dir} is empty`, EXIT.USAGE);
  const zip = Buffer.from(zipSync(files, { level: 6 }));
  if (zip.length > MAX_PACKAGE_BYTES)
    throw new CliError(`the package of ${dir} is ${zip.length} bytes zipped: more than 50 MB`, EXIT.USAGE);
  return zip;
}

function payloadOf(value: string | undefined): unknown {
  if (value === undefined) return {};
  const text = value.startsWith('@') ? readFileSync(value === '@-' ? 0 : value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--payload is not JSON: ${(err as Error).message}`, EXIT.USAGE);
  }
}

/** Waits until the function's code is ready to run (Active, or an update Successful). */
async function waitActive(client: EmberplaneClient, name: string) {
  return waitFor(async () => {
    const { function: fn } = await client.request(GetFunction, { name });
    if (!fn) throw new CliError(`NOT_FOUND (functionName): no function ${name}`, EXIT.REFUSED);
    if (fn.state === 'FAILED' || fn.lastUpdateStatus === 'FAILED')
      throw new CliError(
        `function ${name} failed to deploy: ${fn.lastUpdateStatusReason ?? fn.stateReason ?? 'no reason given'}`,
        EXIT.FAILED,
      );
    return fn.state === 'ACTIVE' && fn.lastUpdateStatus !== 'IN_PROGRESS' ? fn : null;
  });
}

export function functionsCommand(): Command {
  const functions = new Command('functions').description('deploy, invoke and follow functions');

  functions
    .command('deploy')
    .description("create a function from a directory's files, or update its code and configuration")
    .argument('<dir>', 'the directory whose contents are the package (the handler file at its top)')
    .requiredOption('--name <name>', 'the function name')
    .addOption(new Option('--runtime <runtime>', 'the runtime').choices(['PYTHON311', 'NODEJS20', 'PROVIDED']))
    .option('--handler <handler>', 'e.g. app.handler (module.function)')
    .option('--memory <mb>', 'memory in MB', wholeNumber('--memory', 1))
    .option('--timeout <seconds>', 'timeout in seconds', wholeNumber('--timeout', 1))
    .option('--env <k=v>', 'an environment variable (repeatable; replaces the whole environment)', pairs('--env'))
    .option('--no-wait', 'return at once instead of waiting until the code is ready to run')
    .action(async (dir: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const zipBase64 = zipDirectory(dir).toString('base64');
      const config = {
        ...(opts.runtime ? { runtime: opts.runtime as Runtime } : {}),
        ...(opts.handler ? { handler: opts.handler } : {}),
        ...(opts.memory ? { memoryMb: opts.memory } : {}),
        ...(opts.timeout ? { timeoutSeconds: opts.timeout } : {}),
        ...(opts.env ? { environment: opts.env } : {}),
      };
      const { function: existing } = await client.request(GetFunction, { name: opts.name });
      let fn: ResultOf<typeof GetFunction>['function'];
      if (!existing) {
        if (!opts.runtime || !opts.handler) throw new CliError('a new function needs --runtime and --handler', EXIT.USAGE);
        fn = (
          await client.request(CreateFunction, {
            input: { name: opts.name, runtime: opts.runtime, handler: opts.handler, ...config, code: { zipBase64 } },
          })
        ).createFunction.function;
      } else {
        if (Object.keys(config).length) {
          await client.request(UpdateConfiguration, { input: { functionName: opts.name, ...config } });
          if (opts.wait) await waitActive(client, opts.name);
        }
        fn = (await client.request(UpdateCode, { input: { functionName: opts.name, code: { zipBase64 } } })).updateFunctionCode.function;
      }
      if (opts.wait) fn = await waitActive(client, opts.name);
      printRecord(output, fn);
    });

  functions
    .command('list')
    .description('list functions')
    .action(async (_opts, command: Command) => {
      const { client, output } = contextOf(command);
      const rows = [];
      let after: string | null = null;
      for (;;) {
        const { functions: page }: Awaited<ReturnType<typeof listPage>> = await listPage(client, after);
        rows.push(...page.edges.map((e) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor ?? null;
      }
      printRows(output, rows, [
        { header: 'NAME', value: (f) => f.name },
        { header: 'RUNTIME', value: (f) => f.runtime },
        { header: 'HANDLER', value: (f) => f.handler },
        { header: 'MEMORY', value: (f) => f.memoryMb },
        { header: 'STATE', value: (f) => f.state },
        { header: 'MODIFIED', value: (f) => f.lastModifiedAt },
      ]);
    });

  functions
    .command('invoke')
    .description('invoke a function and print its response (exit code 1 on a function error)')
    .argument('<name>')
    .option('--payload <json>', 'the event: JSON, @file or @- for stdin (default {})')
    .option('--qualifier <q>', 'a version or alias')
    .option('--async', 'queue the invocation (Event) and return at once')
    .option('--log', "print the invocation's log (the last 4 KB, as Lambda's LogType Tail) to stderr")
    .action(async (name: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const result = (
        await client.request(Invoke, {
          input: {
            functionName: name,
            payload: payloadOf(opts.payload),
            ...(opts.qualifier ? { qualifier: opts.qualifier } : {}),
            ...(opts.async ? { invocationType: 'EVENT' as const } : {}),
            ...(opts.log ? { logType: 'TAIL' as const } : {}),
          },
        })
      ).invokeFunction;
      if (opts.log && result.logResult) process.stderr.write(Buffer.from(result.logResult, 'base64').toString('utf8'));
      if (output === 'json') printJson(result);
      else if (!opts.async) printJson(result.payload);
      else printRecord(output, { statusCode: result.statusCode, invocation: result.invocation.id });
      if (result.functionError) {
        process.stderr.write(`function error (${result.functionError})\n`);
        process.exitCode = EXIT.FAILED;
      }
    });

  functions
    .command('logs')
    .description("a function's log: the last lines, or with --follow every line as it is written (Ctrl-C stops)")
    .argument('<name>')
    .option('--follow', 'keep printing lines as they are written')
    .option('--tail <lines>', 'start with the last lines only (at most 1,000)', wholeNumber('--tail', 1), 100)
    .action(async (name: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const { function: fn } = await client.request(GetFunction, { name });
      if (!fn) throw new CliError(`NOT_FOUND (functionName): no function ${name}`, EXIT.REFUSED);
      if (!opts.follow) {
        const { function: f } = await client.request(FunctionTail, { name, last: Math.min(100, opts.tail) });
        for (const { node: l } of f?.logs.edges ?? []) printLine(output, l);
        return;
      }
      for await (const l of followFunction(client, name, { tail: opts.tail })) {
        printLine(output, l);
      }
    });

  functions
    .command('publish')
    .description('publish $LATEST as a new version')
    .argument('<name>')
    .option('--description <text>')
    .action(async (name: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const { version } = (
        await client.request(Publish, { input: { functionName: name, ...(opts.description ? { description: opts.description } : {}) } })
      ).publishVersion;
      printRecord(output, version);
    });

  functions
    .command('alias')
    .description('create or move an alias, optionally splitting traffic with a second version')
    .argument('<name>')
    .argument('<alias>')
    .requiredOption('--function-version <version>', 'the version the alias points to')
    .option('--weight <version=share>', 'send this share (0-1) of invocations to another version instead', pairs('--weight'))
    .action(async (name: string, alias: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const weights = Object.entries((opts.weight ?? {}) as Record<string, string>).map(([version, share]) => {
        const weight = Number(share);
        if (!Number.isFinite(weight))
          throw new CliError(`--weight ${version}=${share}: the share must be a number from 0 to 1`, EXIT.USAGE);
        return { version, weight };
      });
      const routing = { additionalVersionWeights: weights };
      const { function: fn } = await client.request(Aliases, { name });
      if (!fn) throw new CliError(`NOT_FOUND (functionName): no function ${name}`, EXIT.REFUSED);
      const input = { functionName: name, name: alias, functionVersion: opts.functionVersion, routing };
      const saved = fn.aliases.some((a) => a.name === alias)
        ? (await client.request(UpdateAlias, { input })).updateAlias.alias
        : (await client.request(CreateAlias, { input })).createAlias.alias;
      printRecord(output, saved);
    });

  return functions;
}

const FunctionTail = graphql(`
  query FunctionTail($name: String!, $last: Int) {
    function(name: $name) {
      logs(last: $last) {
        edges {
          node {
            ...LogLineFields
          }
        }
      }
    }
  }
`);

async function listPage(client: EmberplaneClient, after: string | null) {
  return client.request(ListFunctions, { after });
}
