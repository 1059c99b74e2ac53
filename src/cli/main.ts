// The `emberplane` command (bin/emberplane.js runs it; docs/cli.md): the API from a shell, typed
// against the schema through the client (src/client), with profiles, `--output json|table` and exit
// codes a script can rely on; and `emberplane host join`, which offers this machine as a host.
import { Command, CommanderError, Option } from 'commander';
import { EMBERPLANE_VERSION } from '../engine/host/version.js';
import { bucketsCommand } from './commands/buckets.js';
import { clustersCommand } from './commands/clusters.js';
import { functionsCommand } from './commands/functions.js';
import { keysCommand } from './commands/keys.js';
import { queuesCommand } from './commands/queues.js';
import { stepsCommand } from './commands/steps.js';
import { CliError, EXIT, exitCodeOf, globalsOf } from './context.js';
import { configFile, PROFILE_KEYS, saveProfile } from './profiles.js';

function configureCommand(): Command {
  return new Command('configure')
    .description(`save a profile's endpoint (--endpoint), API key and output format in ${configFile()}`)
    .option('--api-key <key>', 'the API key, or - to read it from stdin (keeps it out of the process list)')
    .addOption(new Option('--default-output <format>', 'json or table').choices(['json', 'table']))
    .action(async (opts, command: Command) => {
      // --profile and --endpoint are the root's options: `emberplane --profile p configure --endpoint <url>` reads the same
      const { profile = 'default', endpoint } = globalsOf(command);
      let apiKey: string | undefined = opts.apiKey;
      if (apiKey === '-') {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        apiKey = Buffer.concat(chunks).toString('utf8').trim();
      }
      if (endpoint && !URL.canParse(endpoint)) throw new CliError(`--endpoint must be a URL, got "${endpoint}"`, EXIT.USAGE);
      const values = { endpoint, api_key: apiKey, output: opts.defaultOutput };
      if (PROFILE_KEYS.every((k) => values[k] === undefined))
        throw new CliError('nothing to save: give --endpoint, --api-key or --default-output', EXIT.USAGE);
      const file = saveProfile(profile, values);
      process.stderr.write(`saved profile "${profile}" in ${file}\n`);
    });
}

function program(): Command {
  const root = new Command('emberplane')
    .description("emberplane's API from a shell: clusters, steps, functions, buckets, queues and keys")
    .version(EMBERPLANE_VERSION)
    .option('--profile <name>', 'the profile of the config file to use (or EMBERPLANE_PROFILE)')
    .option('--endpoint <url>', "the server's URL (or EMBERPLANE_ENDPOINT; overrides the profile's)")
    .addOption(new Option('--output <format>', 'json (for scripts) or table (or EMBERPLANE_OUTPUT)').choices(['json', 'table']))
    .addHelpText(
      'after',
      `
The API key comes from EMBERPLANE_API_KEY or the profile (\`emberplane configure\`).
Exit codes: 0 done; 1 what was waited for failed (a FAILED step, a function error, …); 2 bad command
line; 3 the API refused (its code, field and message are printed); 4 no server configured or reachable.

Hosts: \`emberplane host join --server <url> --token <t>\` offers this machine to a control plane
(emberplane host join --help).`,
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const command of [
    configureCommand(),
    clustersCommand(),
    stepsCommand(),
    functionsCommand(),
    bucketsCommand(),
    queuesCommand(),
    keysCommand(),
  ]) {
    root.addCommand(command);
  }
  const visit = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(visit);
  };
  visit(root);
  return root;
}

async function main(argv: string[]): Promise<void> {
  // host join keeps its own options parser: it runs a daemon, not an API call (and loads the engine,
  // which API commands do without)
  if (argv[0] === 'host' && argv[1] === 'join') {
    const { hostJoin } = await import('./host-join.js');
    await hostJoin(argv.slice(2)).catch((err: Error) => {
      process.stderr.write(`emberplane: ${err.message}\n`);
      process.exitCode = EXIT.USAGE;
    });
    return;
  }
  try {
    await program().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    const code = exitCodeOf(err);
    process.stderr.write(`emberplane: ${(err as Error).message}\n`);
    process.exitCode = code;
  }
}

// `emberplane … | head` closes the pipe early: stop quietly, as other command-line tools do
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

await main(process.argv.slice(2));
