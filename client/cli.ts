// The sera-flow command line: `npm run cli -- <command>` (`npm run demo` runs `demo`).
import path from 'node:path';
import Docker from 'dockerode';
import { Command, InvalidArgumentError } from 'commander';
import { reapOrphans, workflowRunningOn } from '../activities/sandbox/reaper';
import { stateDir } from '../infra/paths';
import { connectClient, temporalSettingsFromEnv } from '../infra/temporal-connection';
import { ensureDevServer, stopDevServer } from '../infra/temporal-server';
import { runDemo } from './demo';
import { describeOutcome, runEnvironment } from './run-environment';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

const program = new Command('sera-flow').description(
  'Specialize a coding agent to one repository with SERA.',
);

program
  .command('demo')
  .description(
    'run the main job on the embedded defaults: the example repository, the dev server, local workers',
  )
  .option('--run-id <id>', 'name of the run (default: demo-<timestamp>)')
  .option('--commit <commit>', 'commit of the example repository to test')
  .option('--test-command <command>', 'command to run in the sandbox')
  .action(async (options: { runId?: string; commit?: string; testCommand?: string }) => {
    const outcome = await runDemo(options);
    process.exitCode = outcome.result ? 0 : 1;
  });

program
  .command('env')
  .description('prepare a sandbox for a repository at a commit and run its tests (workers must be running)')
  .requiredOption('--repo <path>', 'git repository on the sandbox host, or a URL git can clone')
  .requiredOption('--commit <commit>', 'commit, tag or branch')
  .requiredOption('--test-command <command>', 'command that runs the tests, e.g. "python3 -m pytest -q"')
  .requiredOption('--run-id <id>', 'name of the run')
  .option('--timeout <seconds>', 'limit for the test command', positiveInt, 900)
  .action(
    async (options: {
      repo: string;
      commit: string;
      testCommand: string;
      runId: string;
      timeout: number;
    }) => {
      const settings = temporalSettingsFromEnv();
      const client = await connectClient(settings);
      const outcome = await runEnvironment(client, settings, {
        runId: options.runId,
        repository: { path: path.resolve(options.repo), commit: options.commit },
        testCommand: options.testCommand,
        testTimeoutSeconds: options.timeout,
      });
      for (const line of describeOutcome(outcome)) console.log(line);
      await client.connection.close();
      process.exitCode = outcome.result ? 0 : 1;
    },
  );

const server = program.command('server').description('the embedded Temporal dev server');
server
  .command('start')
  .description('start it (SQLite file under the state directory) unless one already answers')
  .option('--port <port>', 'gRPC port', positiveInt, 7233)
  .option('--ui-port <port>', 'UI port', positiveInt, 8233)
  .action(async (options: { port: number; uiPort: number }) => {
    const dev = await ensureDevServer({
      port: options.port,
      uiPort: options.uiPort,
      dbFile: path.join(stateDir(), 'temporal.db'),
      stateDir: stateDir(),
    });
    console.log(`${dev.started ? 'started' : 'already running'}: ${dev.address}, UI ${dev.uiUrl}`);
  });
server
  .command('stop')
  .description('stop the dev server this project started')
  .action(() => {
    console.log(stopDevServer(stateDir()) ? 'stopped' : 'no dev server started by this project is running');
  });

program
  .command('reap')
  .description('remove sandbox containers on this Docker host whose workflow is no longer running')
  .action(async () => {
    const client = await connectClient();
    const { removed, kept } = await reapOrphans(new Docker(), workflowRunningOn(client));
    console.log(
      `removed ${removed.length} container(s)${removed.length ? `: ${removed.join(', ')}` : ''}; kept ${kept}`,
    );
    await client.connection.close();
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
}
