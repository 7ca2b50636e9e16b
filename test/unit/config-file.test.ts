import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConfigPathWarnings } from '../../client/config-file';
import { parseRunConfig, type RunConfig } from '../../core/run-config';

// A working directory with a configs/ folder; the repository exists beside the config only.
const cwd = mkdtempSync(path.join(os.tmpdir(), 'sera-config-paths-'));
mkdirSync(path.join(cwd, 'configs', 'repos', 'mine'), { recursive: true });
mkdirSync(path.join(cwd, 'repos', 'here'), { recursive: true });
mkdirSync(path.join(cwd, 'configs', 'repos', 'here'), { recursive: true }); // beside the config too: from here wins
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function config(repositoryPath: string): RunConfig {
  const parsed = parseRunConfig({
    runId: 'r1',
    repository: { path: repositoryPath, commit: 'main' },
    teacher: { baseUrl: 'http://127.0.0.1:8400/v1', model: 'm' },
    samples: 1,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

describe('relative paths of a run config', () => {
  it('warns when a path exists beside the config but not from the current directory, naming both', () => {
    const warnings = runConfigPathWarnings('configs/run.json', config('repos/mine'), cwd);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('repository.path "repos/mine"');
    expect(warnings[0]).toContain(path.join(cwd, 'repos', 'mine'));
    expect(warnings[0]).toContain(path.join(cwd, 'configs', 'repos', 'mine'));
  });

  it('says nothing when the path is found from the current directory, is absolute or a URL', () => {
    expect(runConfigPathWarnings('configs/run.json', config('repos/here'), cwd)).toEqual([]);
    expect(runConfigPathWarnings('configs/run.json', config(path.join(cwd, 'nowhere')), cwd)).toEqual([]);
    expect(runConfigPathWarnings('configs/run.json', config('https://example.com/r.git'), cwd)).toEqual([]);
  });

  it('says nothing for a config in the current directory (both readings agree)', () => {
    expect(runConfigPathWarnings('run.json', config('configs/repos/mine'), cwd)).toEqual([]);
  });
});
