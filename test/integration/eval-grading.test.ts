import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalReport } from '../../core/eval/eval-report';
import { parseInstances } from '../../core/eval/instances';
import type { GradePredictionsRequest } from '../../core/eval/eval-input';
import { TaskQueues } from '../../core/queues';
import { exampleEvalSet } from '../../infra/example-repo';
import type { BuildEvalSetResult } from '../../workflows/build-eval-set';
import type { GradePredictionsResult } from '../../workflows/grade-predictions';
import { applicationCause } from '../support/failures';
import { readArtifact } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

interface LogLine {
  pass: string;
  instanceId: string;
  status: string;
  resolved: boolean;
  reason?: string;
}

describe('evaluation sets and grading on the example library’s releases', () => {
  let workers: RunningWorkers;
  let scratch: string;
  const set = exampleEvalSet();
  const instances = parseInstances(readFileSync(set.instancesFile, 'utf8'));
  const small = instances.find((i) => i.instance_id.endsWith('v10.1.0'));
  if (!small) throw new Error('the example set has no v10.1.0 instance');

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-eval-'));
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'eval-tests' });
  });
  afterAll(async () => {
    await workers?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function grade(
    runId: string,
    overrides: Partial<GradePredictionsRequest>,
  ): Promise<GradePredictionsResult> {
    const request: GradePredictionsRequest = {
      runId,
      instances: { path: set.instancesFile },
      environments: { [set.repo]: set.environment },
      predictions: [{ name: 'gold', source: 'gold' }],
      concurrency: 2,
      ...overrides,
    };
    return (await workers.client.workflow.execute('gradePredictions', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `grade-${runId}`,
      args: [request],
    })) as GradePredictionsResult;
  }

  async function logOf(result: GradePredictionsResult): Promise<LogLine[]> {
    return (await readArtifact(result.log))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
  }

  it('builds instances from commits: the same instance as the checked-in set, and says why a change is left out', async () => {
    const runId = uniqueRunId('evalset');
    const result = (await workers.client.workflow.execute('buildEvalSet', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `evalset-${runId}`,
      args: [
        {
          runId,
          repository: { path: set.historyPath, name: set.repo },
          pairs: [
            { base: 'v10.0.0', commit: 'v10.1.0' },
            { base: 'v10.4.0', commit: 'v10.5.0' },
          ],
          environment: { testCommand: set.environment.testCommand, testTimeoutSeconds: 300 },
        },
      ],
    })) as BuildEvalSetResult;
    expect(result.accepted.map((a) => a.instanceId)).toEqual([small.instance_id]);
    expect(result.rejected).toEqual([
      {
        instanceId: 'more-itertools__more-itertools-v10.5.0',
        reason: 'no test fails before the change and passes after it',
      },
    ]);
    const built = parseInstances(await readArtifact(result.instances!));
    expect(built).toEqual([small]);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('gold patches resolve every instance, empty ones none', async () => {
    const runId = uniqueRunId('gold');
    const result = await grade(runId, {
      predictions: [
        { name: 'gold', source: 'gold' },
        { name: 'empty', source: 'empty' },
      ],
    });
    const report = JSON.parse(await readArtifact(result.report)) as EvalReport;
    expect(report.passes.map((p) => [p.name, p.resolved, p.total])).toEqual([
      ['gold', instances.length, instances.length],
      ['empty', 0, instances.length],
    ]);
    const log = await logOf(result);
    expect(log.filter((l) => l.pass === 'empty').every((l) => l.status === 'empty_patch')).toBe(true);
    // The predictions files are SWE-bench's format, and the gold one holds the instances' patches.
    const gold = (
      await readArtifact({ id: result.predictions.gold ?? '', size: 0, mediaType: '', preview: '' })
    )
      .trim()
      .split('\n');
    expect(gold.map((l) => (JSON.parse(l) as { model_patch: string }).model_patch)).toEqual(
      instances.map((i) => i.patch),
    );
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('a patch that breaks a PASS_TO_PASS test is not resolved; a malformed one is recorded as not applying', async () => {
    // The gold patch plus a change to `take`, which many existing tests use.
    const clone = path.join(scratch, 'clone');
    execFileSync('git', ['clone', '-q', set.historyPath, clone]);
    execFileSync('git', ['checkout', '-q', small.base_commit], { cwd: clone });
    writeFileSync(path.join(scratch, 'gold.patch'), small.patch);
    execFileSync('git', ['apply', path.join(scratch, 'gold.patch')], { cwd: clone });
    const recipes = path.join(clone, 'more_itertools', 'recipes.py');
    const source = readFileSync(recipes, 'utf8');
    expect(source).toContain('    return list(islice(iterable, n))\n');
    writeFileSync(
      recipes,
      source.replace('    return list(islice(iterable, n))\n', '    return list(islice(iterable, n))[1:]\n'),
    );
    const breaking = execFileSync('git', ['diff'], { cwd: clone, encoding: 'utf8', maxBuffer: 1 << 26 });
    const malformed =
      'diff --git a/more_itertools/more.py b/more_itertools/more.py\n--- a/more_itertools/more.py\n+++ b/more_itertools/more.py\n@@ -1,3 +1,3 @@\n-this line is not there\n+nor is this one\n';
    const predictions = path.join(scratch, 'predictions.jsonl');
    writeFileSync(
      predictions,
      [{ instance_id: small.instance_id, model_name_or_path: 'breaks-take', model_patch: breaking }]
        .map((p) => JSON.stringify(p))
        .join('\n'),
    );
    const malformedFile = path.join(scratch, 'malformed.json');
    writeFileSync(
      malformedFile,
      JSON.stringify([{ instance_id: small.instance_id, model_name_or_path: 'x', model_patch: malformed }]),
    );

    const runId = uniqueRunId('break');
    const result = await grade(runId, {
      instanceIds: [small.instance_id],
      predictions: [
        { name: 'breaks', source: { path: predictions } },
        { name: 'malformed', source: { path: malformedFile } },
      ],
    });
    const [broken, notApplied] = await logOf(result);
    expect(broken).toMatchObject({ pass: 'breaks', status: 'unresolved', resolved: false });
    expect(broken?.reason).toMatch(/^\d+ of \d+ PASS_TO_PASS tests broke$/);
    expect(notApplied).toMatchObject({ pass: 'malformed', status: 'patch_failed', resolved: false });
    expect(notApplied?.reason).toMatch(/the model patch does not apply/);
  });

  /** A small repository whose change fixes `mean` and adds a unittest test for it. */
  function unittestRepository(): string {
    const repo = path.join(scratch, 'stats');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
      writeFileSync(path.join(repo, file), text);
    };
    mkdirSync(repo, { recursive: true });
    git('init', '-q');
    write(
      'stats.py',
      'def mean(xs):\n    return sum(xs) // len(xs)\n\n\ndef total(xs):\n    return sum(xs)\n',
    );
    write('tests/__init__.py', '');
    write(
      'tests/test_total.py',
      'import unittest\nfrom stats import total\n\n\nclass Total(unittest.TestCase):\n    def test_total(self):\n        self.assertEqual(total([1, 2]), 3)\n',
    );
    write(
      'tests/test_mean.py',
      'import unittest\nfrom stats import mean\n\n\nclass Mean(unittest.TestCase):\n    def test_whole(self):\n        self.assertEqual(mean([2, 4]), 3)\n',
    );
    git('add', '.');
    git('commit', '-q', '-m', 'base');
    git('tag', 'base');
    write(
      'stats.py',
      'def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef total(xs):\n    return sum(xs)\n',
    );
    write(
      'tests/test_mean.py',
      'import unittest\nfrom stats import mean\n\n\nclass Mean(unittest.TestCase):\n    def test_whole(self):\n        self.assertEqual(mean([2, 4]), 3)\n\n    def test_fraction(self):\n        self.assertEqual(mean([1, 2]), 1.5)\n',
    );
    git('commit', '-q', '-am', 'mean returns a fraction');
    git('tag', 'fix');
    return repo;
  }

  it('builds a unittest instance; the test scope decides whether PASS_TO_PASS spans the other test files', async () => {
    const repository = unittestRepository();
    const build = async (testScope: 'patch-files' | 'all') => {
      const runId = uniqueRunId(`unittest-${testScope}`);
      const result = (await workers.client.workflow.execute('buildEvalSet', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `evalset-${runId}`,
        args: [
          {
            runId,
            repository: { path: repository, name: 'example/stats' },
            pairs: [{ base: 'base', commit: 'fix' }],
            environment: {
              testCommand: 'python3 -m unittest',
              testRunner: 'unittest',
              testScope,
              testTimeoutSeconds: 120,
            },
          },
        ],
      })) as BuildEvalSetResult;
      expect(result.rejected).toEqual([]);
      return parseInstances(await readArtifact(result.instances!));
    };
    const [files] = await build('patch-files');
    expect(files?.FAIL_TO_PASS).toEqual(['tests.test_mean.Mean.test_fraction']);
    expect(files?.PASS_TO_PASS).toEqual(['tests.test_mean.Mean.test_whole']);
    expect(files?.patch).toContain('b/stats.py');
    expect(files?.test_patch).toContain('b/tests/test_mean.py');
    const [all] = await build('all');
    expect(all?.FAIL_TO_PASS).toEqual(['tests.test_mean.Mean.test_fraction']);
    expect(all?.PASS_TO_PASS).toEqual([
      'tests.test_mean.Mean.test_whole',
      'tests.test_total.Total.test_total',
    ]);
  });

  it('builds a Go instance: _test.go and testdata files make the test patch, go test runs their packages', async () => {
    const repo = path.join(scratch, 'calc');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
      writeFileSync(path.join(repo, file), text);
    };
    mkdirSync(repo, { recursive: true });
    git('init', '-q');
    write('go.mod', 'module example.com/calc\n\ngo 1.23\n');
    write('calc.go', 'package calc\n\nfunc Div(a, b int) int {\n\treturn a * b\n}\n');
    write('calc_test.go', 'package calc\n\nimport "testing"\n\nfunc TestNew(t *testing.T) {}\n');
    write('parse/parse.go', 'package parse\n');
    write('parse/parse_test.go', 'package parse\n\nimport "testing"\n\nfunc TestNew(t *testing.T) {}\n');
    git('add', '.');
    git('commit', '-q', '-m', 'base');
    write('calc.go', 'package calc\n\nfunc Div(a, b int) int {\n\treturn a / b\n}\n');
    write(
      'calc_test.go',
      'package calc\n\nimport (\n\t"os"\n\t"testing"\n)\n\nfunc TestNew(t *testing.T) {}\n\nfunc TestDiv(t *testing.T) {\n\twant, _ := os.ReadFile("testdata/div.txt")\n\tif string(want) != "2" || Div(4, 2) != 2 {\n\t\tt.Errorf("Div(4, 2) = %d", Div(4, 2))\n\t}\n}\n',
    );
    write('testdata/div.txt', '2');
    write(
      'parse/parse_test.go',
      'package parse\n\nimport "testing"\n\nfunc TestNew(t *testing.T) {}\n\nfunc TestParse(t *testing.T) {}\n',
    );
    git('add', '.');
    git('commit', '-q', '-m', 'Div divides');
    const runId = uniqueRunId('gotest');
    const result = (await workers.client.workflow.execute('buildEvalSet', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `evalset-${runId}`,
      args: [
        {
          runId,
          repository: { path: repo, name: 'example/calc' },
          pairs: [{ base: 'HEAD~1', commit: 'HEAD' }],
          environment: {
            // The examples' Go: its toolchain image is built once per engine for every test.
            toolchains: { go: '1.27.3' },
            // Warms the build cache once in the environment, not in every offline test run.
            setup: ["go test -count=1 -run '^$' ./..."],
            testCommand: 'go test',
            testRunner: 'go',
            testTimeoutSeconds: 300,
          },
        },
      ],
    })) as BuildEvalSetResult;
    expect(result.rejected).toEqual([]);
    const [instance] = parseInstances(await readArtifact(result.instances!));
    expect(instance?.FAIL_TO_PASS).toEqual(['example.com/calc.TestDiv']);
    // Both packages of the test patch ran, and their TestNew stay apart.
    expect(instance?.PASS_TO_PASS).toEqual([
      'example.com/calc.TestNew',
      'example.com/calc/parse.TestNew',
      'example.com/calc/parse.TestParse',
    ]);
    expect(instance?.patch).toMatch(/^diff --git a\/calc.go b\/calc.go\n/);
    expect(instance?.patch).not.toContain('_test.go');
    expect(instance?.test_patch).toContain('b/testdata/div.txt');
    expect(await containersOfRun(runId)).toEqual([]);
  }, 900_000);

  // Vitest needs localhost to resolve in the sandbox: containers run with `NetworkMode: 'none'`
  // (loopback only), not `NetworkDisabled`, which leaves /etc/hosts empty.
  it('builds a TypeScript instance: *.test.ts files make the test patch, vitest names tests file > suite > name', async () => {
    const repo = path.join(scratch, 'slug');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
      writeFileSync(path.join(repo, file), text);
    };
    mkdirSync(repo, { recursive: true });
    git('init', '-q');
    write('.gitignore', 'node_modules/\n');
    write(
      'package.json',
      JSON.stringify({ name: 'slug', private: true, devDependencies: { vitest: '3.2.4' } }),
    );
    write('src/slug.ts', "export const slug = (s: string): string => s.replace(' ', '-');\n");
    write(
      'src/slug.test.ts',
      "import { describe, expect, it } from 'vitest';\nimport { slug } from './slug';\n\ndescribe('slug', () => {\n  it('joins two words', () => expect(slug('a b')).toBe('a-b'));\n});\n",
    );
    git('add', '.');
    git('commit', '-q', '-m', 'base');
    write('src/slug.ts', "export const slug = (s: string): string => s.replaceAll(' ', '-');\n");
    write(
      'src/slug.test.ts',
      "import { describe, expect, it } from 'vitest';\nimport { slug } from './slug';\n\ndescribe('slug', () => {\n  it('joins two words', () => expect(slug('a b')).toBe('a-b'));\n  it('joins many words', () => expect(slug('a b c')).toBe('a-b-c'));\n});\n",
    );
    git('commit', '-q', '-am', 'slug joins every word');
    const runId = uniqueRunId('vitest');
    const result = (await workers.client.workflow.execute('buildEvalSet', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `evalset-${runId}`,
      args: [
        {
          runId,
          repository: { path: repo, name: 'example/slug' },
          pairs: [{ base: 'HEAD~1', commit: 'HEAD' }],
          environment: {
            toolchains: { node: '22' },
            setup: ['npm install --no-audit --no-fund'],
            testCommand: 'npx vitest run',
            testRunner: 'vitest',
            testTimeoutSeconds: 300,
          },
        },
      ],
    })) as BuildEvalSetResult;
    expect(result.rejected).toEqual([]);
    const [instance] = parseInstances(await readArtifact(result.instances!));
    expect(instance?.FAIL_TO_PASS).toEqual(['src/slug.test.ts > slug > joins many words']);
    expect(instance?.PASS_TO_PASS).toEqual(['src/slug.test.ts > slug > joins two words']);
    expect(instance?.patch).not.toContain('slug.test.ts');
    expect(await containersOfRun(runId)).toEqual([]);
  }, 900_000);

  it('an instances file with a missing field, or a repo without an environment, fails at once naming it', async () => {
    const { FAIL_TO_PASS: _dropped, ...withoutF2p } = small;
    const bad = path.join(scratch, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(instances[0])}\n${JSON.stringify(withoutF2p)}\n`);
    const failure = await grade(uniqueRunId('bad'), { instances: { path: bad } }).catch((e: unknown) => e);
    expect(applicationCause(failure).type).toBe('InvalidInput');
    expect(applicationCause(failure).message).toContain(`line 2 (${small.instance_id}): FAIL_TO_PASS`);

    const noEnv = await grade(uniqueRunId('noenv'), {
      environments: { 'other/repo': set.environment },
    }).catch((e: unknown) => e);
    expect(applicationCause(noEnv).type).toBe('InvalidInput');
    expect(applicationCause(noEnv).message).toContain(
      'no environment for repo "more-itertools/more-itertools"',
    );
  });
});
