// The sera-flow command line: `npm run cli -- <command>` (`npm run demo` runs `demo`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { Command, InvalidArgumentError } from 'commander';
import { reapOrphans, workflowRunningOn } from '../activities/sandbox/reaper';
import { stateDir } from '../infra/paths';
import { connectClient, temporalSettingsFromEnv, workflowUiUrl } from '../infra/temporal-connection';
import { ensureDevServer, stopDevServer } from '../infra/temporal-server';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { isGitUrl } from '../core/names';
import {
  buildDatasetOfRun,
  describeDataset,
  storeMixFiles,
  type DatasetCommandOptions,
} from './dataset-command';
import { EXAMPLES, runExample, type ExampleName } from './example-command';
import { runDemo } from './demo';
import {
  describeServing,
  describeStarted,
  servingHandle,
  servingStatus,
  startServing,
  stopServing,
  type ServeStartOptions,
} from './serve-command';
import { DRILL_DEFAULTS, runDrill } from './drill';
import {
  describeEvalOutputs,
  describeEvalSet,
  followWorkflow,
  evaluateProgressLine,
  gradeProgressLine,
  readEvalConfig,
  readReport,
  runScalingCommand,
  startFromConfig,
  type ScalingCommandOptions,
} from './eval-commands';
import type { GradePredictionsResult } from '../workflows/grade-predictions';
import type { EvaluateModelResult } from '../workflows/evaluate-model';
import { compareReports, describeComparison } from '../core/eval/eval-report';
import type { BuildEvalSetResult } from '../workflows/build-eval-set';
import { describeTraining, trainOnDataset, type TrainCommandOptions } from './train-command';
import { ALL_ROLES, withTemporal } from './local-stack';
import {
  describeRunResult,
  followRun,
  lifecycleLine,
  loadRunConfig,
  offlineTeacherFor,
  runWorkflowId,
  startRun,
  svgRunStatusLine,
} from './svg-run-commands';
import type { SvgRunProgress } from '../workflows/svg-run';
import type { SpecializeProgress } from '../workflows/specialize-repository';
import { runRolloutCommand, type RolloutCommandOptions } from './run-rollout';
import {
  DEFAULT_SOLVE_RATE,
  startTeacherServer,
  TEACHER_MODES,
  type TeacherMode,
} from '../infra/teacher-server';
import { describeOutcome, runEnvironment } from './run-environment';
import { errorLines } from './workflow-failure';
import { runCodecServerCommand, type CodecServerCommandOptions } from './codec-server-command';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** The workflow a run id names, for the commands that steer a run. */
const RUN_ID_HELP = 'the runId of the run config (its workflow is sera-run-<runId>)';

/** The command tree; exported so tests can read its commands and options without running it. */
export const program = new Command('sera-flow')
  .description('Specialize a coding agent to one repository with SERA.')
  .addHelpText(
    'after',
    `
The commands reach Temporal as the temporal CLI does: TEMPORAL_ADDRESS (default
localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and the TLS variables; demo and --local
start the embedded dev server when none answers, and --local runs the workers in the same
process instead of needing them elsewhere. Settings and failure types: docs/operations.md; config fields:
docs/formats.md.`,
  );

program
  .command('demo')
  .description(
    "the main job on the embedded defaults: examples/run.json's whole lifecycle (environment check, SVG generation with the offline teacher, dataset, SFT of the tiny student, evaluation against the base model, report)",
  )
  .option('--run-id <id>', 'name of the run (default: demo-<timestamp>)')
  .option('--commit <commit>', 'commit of the example repository to test')
  .option('--test-command <command>', 'command to run in the sandbox')
  .option('--environment-only', "only run the example repository's tests in a sandbox")
  .action(
    async (options: { runId?: string; commit?: string; testCommand?: string; environmentOnly?: boolean }) => {
      const outcome = await runDemo(options);
      process.exitCode = outcome.ok ? 0 : 1;
    },
  );

program
  .command('example')
  .description(
    'a real repository end to end (examples/<name>/): its environment from the recipe and its own tests, SVG generation with the offline teacher, an evaluation set from its history, graded with the gold and empty patches',
  )
  .argument('<name>', `one of: ${EXAMPLES.join(', ')}`)
  .option('--samples <n>', "samples to generate (default: the example's run.json)", positiveInt)
  .option('--run-id <id>', "name of the run (default: the example's run.json)")
  .action(async (name: string, options: { samples?: number; runId?: string }) => {
    if (!(EXAMPLES as readonly string[]).includes(name))
      throw new Error(`no example named ${JSON.stringify(name)} (known: ${EXAMPLES.join(', ')})`);
    const outcome = await runExample(name as ExampleName, options);
    console.log(
      `example ${name}: ${outcome.accepted} accepted samples; ${outcome.instances} evaluation instances; resolved: ${Object.entries(
        outcome.resolved,
      )
        .map(([pass, n]) => `${pass} ${n}`)
        .join(', ')}`,
    );
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
        // A URL is cloned by the sandbox worker; a path is made absolute here.
        repository: {
          path: isGitUrl(options.repo) ? options.repo : path.resolve(options.repo),
          commit: options.commit,
        },
        testCommand: options.testCommand,
        testTimeoutSeconds: options.timeout,
      });
      for (const line of describeOutcome(outcome)) console.log(line);
      await client.connection.close();
      process.exitCode = outcome.result ? 0 : 1;
    },
  );

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function teacherMode(value: string): TeacherMode {
  const mode = TEACHER_MODES.find((m) => m === value);
  if (!mode) throw new InvalidArgumentError(`expected one of ${TEACHER_MODES.join(', ')}`);
  return mode;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

program
  .command('teacher')
  .description('serve the offline teacher as an OpenAI-compatible endpoint until Ctrl-C')
  .option('--port <port>', 'port (0: any free one)', integer, 8400)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--fidelity <share>', 'how faithfully rollout 2 reproduces a described change', share, 0.8)
  .option('--rate-429 <share>', 'share of requests answered 429', share, 0)
  .option('--rate-500 <share>', 'share of requests answered 500', share, 0)
  .option('--garbage-rate <share>', 'share of replies with a garbled tool call', share, 0)
  .option('--slow-rate <share>', 'share of replies delayed by --slow-ms', share, 0)
  .option('--slow-ms <ms>', 'delay of a slow reply', integer, 2000)
  .option('--retry-after <seconds>', 'Retry-After of a 429', integer, 1)
  .option('--fault-seed <n>', 'seed of the fault draws', integer, 0)
  .option(
    '--mode <mode>',
    'clean: one tidy tool call a reply; realistic: misbehaves as reasoning teachers do (a test instrument)',
    teacherMode,
    'clean',
  )
  .option(
    '--solutions <instances.jsonl>',
    'solving mode (a test instrument): evaluation tasks about these instances are solved in a share of runs by applying their reference patch',
  )
  .option('--solve-rate <share>', 'share of runs that solve, with --solutions', share, DEFAULT_SOLVE_RATE)
  .action(async (o: Record<string, number> & { host: string; mode: TeacherMode; solutions?: string }) => {
    const teacher = await startTeacherServer({
      port: o.port,
      host: o.host,
      mode: o.mode,
      fidelity: o.fidelity,
      faultSeed: o.faultSeed,
      ...(o.solutions
        ? { solutions: { instancesFile: path.resolve(o.solutions), solveRate: o.solveRate } }
        : {}),
      faults: {
        rate429: o.rate429,
        rate500: o.rate500,
        garbageRate: o.garbageRate,
        slowRate: o.slowRate,
        slowMs: o.slowMs,
        retryAfterSeconds: o.retryAfter,
      },
    });
    const solving = o.solutions ? `, solving ${o.solutions} at rate ${o.solveRate}` : '';
    console.log(
      `offline teacher at ${teacher.url} (model sera-offline-teacher, ${o.mode} mode${solving}); Ctrl-C stops it`,
    );
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await teacher.close();
  });

program
  .command('rollout')
  .description(
    'run one rollout (rollout 1: change a function) with local workers; the offline teacher unless --base-url',
  )
  .option('--repo <path>', 'git repository (default: the example repository)')
  .option('--commit <commit>', 'commit (default: the example tag, or HEAD of --repo)')
  .option('--function <name>', 'function to change', 'windowed')
  .option('--file <path>', 'its file, relative to the repository', 'more_itertools/more.py')
  .option('--template <n>', 'instruction template, 0 (generic) to 50', integer, 13)
  .option('--seed <n>', 'model seed', integer, 7)
  .option('--run-id <id>', 'name of the run')
  .option('--base-url <url>', 'an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1')
  .option('--model <name>', 'model name at that endpoint')
  .option('--api-key-env <var>', 'environment variable holding the API key')
  .action(async (options: RolloutCommandOptions) => {
    const result = await runRolloutCommand(options);
    process.exitCode = result.exitStatus === 'submitted' ? 0 : 1;
  });

program
  .command('run')
  .description(
    'start a specialization (specializeRepository: environment check, generation, dataset, training, evaluation, report) from a config file (JSON or YAML) and follow its progress',
  )
  .argument('<config>', 'run config, e.g. examples/run.json')
  .option(
    '--resume-from <workflow-id>',
    'take the stages (and samples) an earlier run finished with the same settings instead of doing them again',
  )
  .option('--no-wait', 'start it and return')
  .option(
    '--local',
    'run the workers in this process (and the offline teacher, if the config names it and nothing serves it)',
  )
  .action(async (file: string, options: { wait: boolean; local?: boolean; resumeFrom?: string }) => {
    const config = loadRunConfig(file);
    config.dataset = await storeMixFiles(config.dataset); // general data files become artifacts
    const teacher = options.local ? await offlineTeacherFor(config) : undefined;
    try {
      await withTemporal(options.local, ALL_ROLES, async (client, settings) => {
        const workflowId = await startRun(client, config, options.resumeFrom);
        if (!options.wait) {
          console.log(`started ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
          return;
        }
        const result = await followRun(client, settings, workflowId);
        for (const line of describeRunResult(result)) console.log(line);
      });
    } finally {
      await teacher?.close();
    }
  });

/** Runs `act` against the run's workflow handle with a plain client. */
async function withRun(
  runId: string,
  act: (handle: WorkflowHandle, client: Client) => Promise<void>,
): Promise<void> {
  const client = await connectClient();
  try {
    await act(client.workflow.getHandle(runWorkflowId(runId)), client);
  } finally {
    await client.connection.close();
  }
}

program
  .command('status')
  .description('where a run stands')
  .argument('<run-id>', RUN_ID_HELP)
  .action((runId: string) =>
    withRun(runId, async (handle, client) => {
      const progress = await handle.query<SpecializeProgress | SvgRunProgress>('progress');
      console.log('stages' in progress ? await lifecycleLine(client, progress) : svgRunStatusLine(progress));
    }),
  );
program
  .command('pause')
  .description('stop starting new samples (running ones finish)')
  .argument('<run-id>', RUN_ID_HELP)
  .action((runId: string) => withRun(runId, (handle) => handle.signal('pause')));
program
  .command('resume')
  .description('start samples again')
  .argument('<run-id>', RUN_ID_HELP)
  .action((runId: string) => withRun(runId, (handle) => handle.signal('resume')));
program
  .command('concurrency')
  .description('change how many samples run at once')
  .argument('<run-id>', RUN_ID_HELP)
  .argument('<n>', 'samples at once, 1 to 256', integer)
  .action((runId: string, n: number) =>
    withRun(runId, async (handle, client) => {
      // A lifecycle run's samples are its generation child's.
      const type = (await handle.describe()).type;
      const target =
        type === 'specializeRepository' ? client.workflow.getHandle(`${handle.workflowId}-svg`) : handle;
      const previous = await target.executeUpdate<number, [number]>('setConcurrency', { args: [n] });
      console.log(`concurrency ${previous} → ${n}`);
    }),
  );
program
  .command('cancel')
  .description('cancel a run: running samples stop and their containers are removed')
  .argument('<run-id>', RUN_ID_HELP)
  .action((runId: string) => withRun(runId, async (handle) => void (await handle.cancel())));
program
  .command('dataset')
  .description(
    "build a finished run's SFT dataset again, with its own or other dataset settings (filters, truncation, T1/T2 mix, size)",
  )
  .argument('<run-id>', RUN_ID_HELP)
  .option(
    '--config <file>',
    'dataset settings, JSON or YAML (the run config\'s "dataset" fields); default: the run\'s own',
  )
  .option(
    '--out <dir>',
    'also copy train.jsonl, report.json, plots and trainer configs into <dir>/<run-id>/dataset/',
  )
  .option('--local', 'run the workers in this process')
  .action(async (runId: string, options: DatasetCommandOptions & { local?: boolean }) => {
    await withTemporal(options.local, ['orchestration', 'llm'], async (client, settings) => {
      const result = await buildDatasetOfRun(client, settings, runId, options);
      for (const line of describeDataset(result)) console.log(line);
    });
  });
program
  .command('train')
  .description("train the student on a finished run's dataset (or a given one) on the gpu-train workers")
  .argument('<run-id>', 'the run the dataset (and the model) belong to')
  .option(
    '--dataset <file-or-artifact>',
    "a dataset JSONL in the export format, or its artifact id; default: the run's",
  )
  .option(
    '--config <file>',
    'training settings, JSON or YAML (the run config\'s "train" fields); default: the tiny preset',
  )
  .option('--out <dir>', 'also copy the model, its report and plots into <dir>/<run-id>/model/')
  .option(
    '--continue-from <workflow-id>',
    'an earlier training (cancelled or failed): go on from its last checkpoint if it trained the same dataset, model and recipe',
  )
  .option('--local', 'run the workers in this process')
  .action(async (runId: string, options: TrainCommandOptions & { local?: boolean }) => {
    await withTemporal(options.local, ['orchestration', 'gpu-train'], async (client, settings) => {
      const result = await trainOnDataset(client, settings, runId, options);
      for (const line of describeTraining(result)) console.log(line);
    });
  });
const evalCommand = program.command('eval').description('evaluation: build instance sets, grade predictions');
evalCommand
  .command('build-set')
  .description(
    'build a SWE-bench-format instances file from changes of a git repository, keeping the instances that validate',
  )
  .argument('<config>', 'JSON or YAML: runId, repository {path, name}, pairs [{base, commit}], environment')
  .option('--out <file>', 'write the accepted instances (JSONL) here')
  .option('--local', 'run the workers in this process')
  .action(async (file: string, options: { out?: string; local?: boolean }) => {
    const config = readEvalConfig(file, 'evaluation-set config');
    await withTemporal(options.local, ['orchestration', 'sandbox'], async (client, settings) => {
      const handle = await startFromConfig(client, settings, 'buildEvalSet', 'evalset', config);
      const result = await followWorkflow<BuildEvalSetResult>(
        handle,
        (p) => `${String(p.stage)}: ${String(p.checked)}/${String(p.drafted)} changes checked`,
      );
      for (const line of describeEvalSet(result, options.out)) console.log(line);
      if (result.accepted.length === 0) process.exitCode = 1;
    });
  });

evalCommand
  .command('grade')
  .description('grade predictions files (or the gold or empty patches) on an instances file, without solving')
  .argument(
    '<config>',
    'JSON or YAML: runId, instances {path}, environments {<repo>: {path, testCommand, ...}}, predictions [{name, source}]',
  )
  .option('--local', 'run the workers in this process')
  .action(async (file: string, options: { local?: boolean }) => {
    const config = readEvalConfig(file, 'grading config');
    await withTemporal(options.local, ['orchestration', 'sandbox', 'llm'], async (client, settings) => {
      const handle = await startFromConfig(client, settings, 'gradePredictions', 'grade', config);
      const result = await followWorkflow<GradePredictionsResult>(handle, gradeProgressLine);
      for (const line of describeEvalOutputs(result)) console.log(line);
      for (const [name, ids] of Object.entries(result.unknownIds))
        if (ids.length)
          console.log(`  ${name}: ${ids.length} prediction(s) for unknown instances: ${ids.join(', ')}`);
    });
  });

evalCommand
  .command('run')
  .description(
    'evaluate a model over several seeds: solve each instance with the agent, grade the patches, report mean ± std and SNR',
  )
  .argument(
    '<config>',
    'JSON or YAML: runId, modelName, model {endpoint} or {serve: {checkpoint}}, instances, environments, seeds (≥ 3)',
  )
  .option('--local', 'run the workers in this process (gpu-serve included)')
  .action(async (file: string, options: { local?: boolean }) => {
    const config = readEvalConfig(file, 'evaluation config');
    await withTemporal(
      options.local,
      ['orchestration', 'sandbox', 'llm', 'gpu-serve'],
      async (client, settings) => {
        const handle = await startFromConfig(client, settings, 'evaluateModel', 'eval', config);
        const result = await followWorkflow<EvaluateModelResult>(handle, evaluateProgressLine);
        for (const line of describeEvalOutputs(result)) console.log(line);
      },
    );
  });

evalCommand
  .command('compare')
  .description('paired comparison of two evaluations on the instances both ran (base against specialized)')
  .argument('<base>', "the first evaluation's report.json (a path or an artifact id)")
  .argument('<other>', "the second evaluation's report.json")
  .option('--out <file>', 'also write the comparison as JSON')
  .action((base: string, other: string, options: { out?: string }) => {
    const comparison = compareReports(readReport(base), readReport(other));
    console.log(describeComparison(comparison));
    if (options.out) writeFileSync(options.out, JSON.stringify(comparison, null, 2));
  });
evalCommand
  .command('scaling')
  .description(
    'fit y = c − a·x^(−b) to (samples or cost, resolve rate) over finished runs, evaluations or typed points, with R², a plot and the samples and cost a target rate needs',
  )
  .argument('[points]', 'JSON or YAML list of {x, y, label?} typed by hand; y is a resolve rate from 0 to 1')
  .option(
    '--run <id...>',
    'finished runs: a runId (workflow sera-run-<runId>) or a workflow id (specializeRepository, svgRun)',
  )
  .option(
    '--eval <id...>',
    'finished evaluations (evaluateModel) of a run; one outside a run as <workflowId>=<x>',
  )
  .option('--x <quantity>', "x: samples (the run's dataset lines), cost (teacher USD) or tokens", 'samples')
  .option('--target <rate>', 'project the samples and cost this resolve rate needs (0 to 1)')
  .option('--x-label <text>', 'the x axis label of the plot')
  .option('--plot <file>', 'write the plot (SVG) here', 'scaling.svg')
  .option('--report <file>', 'also write the report (markdown)')
  .option('--out <file>', 'also write the points, fit and projection as JSON')
  .action(async (file: string | undefined, options: ScalingCommandOptions) => {
    for (const line of await runScalingCommand(file, options)) console.log(line);
  });

program
  .command('list')
  .description('recent runs (specializeRepository, and svgRun started on its own), with their stage')
  .action(async () => {
    const client = await connectClient();
    try {
      const query =
        'WorkflowType = "specializeRepository" OR (WorkflowType = "svgRun" AND ParentWorkflowId IS NULL)';
      for await (const run of client.workflow.list({ query })) {
        const stage = run.searchAttributes?.SeraStage?.[0] ?? '';
        console.log(
          `${run.workflowId}  ${run.type}  ${run.status.name}  ${stage}  started ${run.startTime.toISOString()}`,
        );
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('drill')
  .description(
    'fault drill: the same specialization undisturbed and then while every worker role is killed, the dev server and a Docker engine restart and the teacher answers 429s, 500s, cut connections and slow replies; shows from the histories that each fault hit work in flight, compares samples, dataset bytes and predictions, and checks nothing is left behind',
  )
  .option('--seed <n>', 'seeds the run and where the faults fall', integer, DRILL_DEFAULTS.seed)
  .option('--samples <n>', 'samples per run', positiveInt, DRILL_DEFAULTS.samples)
  .option('--train-steps <n>', 'SFT steps of the tiny student', positiveInt, DRILL_DEFAULTS.trainSteps)
  .option('--no-evaluate', 'stop after training (no vLLM serving)')
  .option(
    '--garbage-rate <share>',
    'share of teacher replies whose tool call the proxy truncates (default 0: the rollout asks again with a new seed, so the samples then differ by design)',
    Number,
    DRILL_DEFAULTS.faults.garbageRate,
  )
  .action(
    async (options: {
      seed: number;
      samples: number;
      trainSteps: number;
      evaluate: boolean;
      garbageRate: number;
    }) => {
      const report = await runDrill({
        seed: options.seed,
        samples: options.samples,
        trainSteps: options.trainSteps,
        evaluate: options.evaluate,
        faults: { ...DRILL_DEFAULTS.faults, garbageRate: options.garbageRate },
        log: (line) => console.log(line),
      });
      console.log(
        `drill ${report.ok ? 'passed' : 'FAILED'}: undisturbed ${Math.round(report.calmSeconds)} s, disturbed ${Math.round(report.stormSeconds)} s`,
      );
      process.exitCode = report.ok ? 0 : 1;
    },
  );

const serve = program
  .command('serve')
  .description(
    'serve a trained student for use: vLLM on a gpu-serve worker behind a token-guarded proxy that speaks OpenAI and Anthropic',
  );
serve
  .command('start')
  .description('start serving (needs orchestration and gpu-serve workers); prints the proxy URL and token')
  .option('--run <run-id>', "serve the model this run's training stage made")
  .option('--model <folder-or-artifact>', 'serve this model instead: a Hugging Face folder or an artifact id')
  .option('--port <port>', "the proxy's port on the gpu-serve host", positiveInt, 8000)
  .option('--bind <address>', "the address the proxy listens on (default: the worker's SERA_SERVE_HOST)")
  .option(
    '--token-env <name>',
    'the environment variable holding the bearer token (default: make one, shown once)',
  )
  .option('--name <model>', 'the model name clients ask for', 'student')
  .option('--max-model-len <tokens>', "the engine's context length", positiveInt, 32_768)
  .option(
    '--gpus <n>',
    'GPUs the engine spreads the model over (tensor parallelism); a gpu-serve worker with that many takes it',
    positiveInt,
    1,
  )
  .option(
    '--engine-arg <arg>',
    'an extra vLLM flag, written --engine-arg=--flag (repeatable)',
    (v: string, all: string[]) => [...all, v],
    [],
  )
  .action(async (options: ServeStartOptions) => {
    await withTemporal(false, [], async (client, settings) => {
      const { status, token, tokenMade } = await startServing(client, settings, options);
      for (const line of describeStarted(status.runId, status, token, tokenMade)) console.log(line);
    });
  });
serve
  .command('status')
  .description('where a serving answers, its engine starts and the requests it has answered')
  .argument('<run-id>', 'the run served (or the workflow id sera-serve-…)')
  .action(async (id: string) => {
    await withTemporal(false, [], async (client) => {
      const handle = servingHandle(client, id);
      for (const line of describeServing(await servingStatus(handle), handle.workflowId)) console.log(line);
    });
  });
serve
  .command('stop')
  .description('stop serving: the proxy and the engine go down, the workflow completes')
  .argument('<run-id>', 'the run served (or the workflow id sera-serve-…)')
  .action(async (id: string) => {
    await withTemporal(false, [], async (client) => {
      const result = await stopServing(client, id);
      console.log(
        `stopped ${result.runId}: served ${result.servedSeconds} s, engine starts ${result.starts}`,
      );
    });
  });

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
  .command('codec-server')
  .description('serve the codec endpoint the Temporal UI decodes encrypted payloads through')
  .option('--port <port>', 'port to listen on', positiveInt, 8888)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--origin <url>', "the UI's origin allowed to call it (default: TEMPORAL_UI_URL or the dev UI)")
  .option('--without-token', 'skip the SERA_CODEC_TOKEN check (a UI without login on this machine only)')
  .action((options: CodecServerCommandOptions) => runCodecServerCommand(options));

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

// Parse only when run as the program (`tsx client/cli.ts`), not when a test imports it.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await program.parseAsync();
  } catch (error) {
    for (const line of errorLines(error)) console.error(line);
    process.exitCode = 1;
  }
}
