import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../client/example-command';
import { BuildEvalSetInputSchema } from '../../core/eval/eval-input';
import { imageRecipeOf } from '../../core/environment-recipe';
import { parseRunConfig } from '../../core/run-config';
import { repoRoot } from '../../infra/paths';

const read = (name: string, file: string): unknown =>
  JSON.parse(readFileSync(path.join(repoRoot, 'examples', name, file), 'utf8'));

describe('the real-repository examples', () => {
  it('are the ones the example command knows', () => {
    const dirs = readdirSync(path.join(repoRoot, 'examples'), { withFileTypes: true })
      // A repository example has an evaluation set; the others (vllm-teacher) show one setting.
      .filter(
        (d) =>
          d.isDirectory() &&
          d.name !== 'eval' &&
          existsSync(path.join(repoRoot, 'examples', d.name, 'build-set.json')),
      )
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual([...EXAMPLES].sort());
  });

  it.each(EXAMPLES)('%s: its run and its evaluation set build the same environment', (name) => {
    const run = parseRunConfig(read(name, 'run.json'));
    if (!run.ok) throw new Error(run.message);
    const set = BuildEvalSetInputSchema.safeParse(read(name, 'build-set.json'));
    if (!set.success) throw new Error(set.error.message);
    const environment = run.value.environment!;
    expect(imageRecipeOf(set.data.environment)).toEqual(imageRecipeOf(environment));
    expect(set.data.environment.testRunner).toBe(environment.testRunner);
    expect(environment.testCommand).toBeTruthy();
  });
});

describe('the vLLM teacher example', () => {
  it('is a valid run config whose teacher is the tiny engine', () => {
    const run = parseRunConfig(read('vllm-teacher', 'run.json'));
    if (!run.ok) throw new Error(run.message);
    expect(run.value.teacher.baseUrl).toBe('http://127.0.0.1:8401/v1');
    expect(run.value.teacher.model).toBe('tiny-random-qwen3');
  });
});
