import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, stateDir } from './paths';

/** The embedded default target, as pinned in infra/example-repo.env and placed by example-repo.sh. */
export interface ExampleRepository {
  name: string;
  version: string;
  path: string;
  commit: string;
  testCommand: string;
}

export function exampleRepository(): ExampleRepository {
  const env = readFileSync(path.join(repoRoot, 'infra', 'example-repo.env'), 'utf8');
  const value = (key: string): string => {
    const match = new RegExp(`^${key}=(.*)$`, 'm').exec(env);
    if (!match?.[1]) throw new Error(`infra/example-repo.env has no ${key}`);
    return match[1].trim();
  };
  const name = value('EXAMPLE_PACKAGE');
  const version = value('EXAMPLE_VERSION');
  return {
    name,
    version,
    path: path.join(stateDir(), 'repos', name),
    commit: `v${version}`,
    testCommand: 'python3 -m pytest -q -p no:cacheprovider tests',
  };
}

/** The evaluation set built from the example library's releases (examples/eval/, docs/evaluation.md). */
export interface ExampleEvalSet {
  instancesFile: string;
  repo: string;
  /** The release history the instances' base commits are in (infra/example-history.sh). */
  historyPath: string;
  environment: { path: string; testCommand: string; testTimeoutSeconds: number };
}

export function exampleEvalSet(): ExampleEvalSet {
  const historyPath = path.join(stateDir(), 'repos', `${exampleRepository().name}-history`);
  return {
    instancesFile: path.join(repoRoot, 'examples', 'eval', 'more-itertools.jsonl'),
    repo: 'more-itertools/more-itertools',
    historyPath,
    environment: {
      path: historyPath,
      testCommand: 'python3 -m pytest -p no:cacheprovider',
      testTimeoutSeconds: 300,
    },
  };
}
