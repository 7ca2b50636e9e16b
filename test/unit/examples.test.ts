import { readdirSync, readFileSync } from 'node:fs';
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
      .filter((d) => d.isDirectory() && d.name !== 'eval')
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
