import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../client/svg-run-commands';
import { progressLine } from '../../client/progress-bar';
import { parseRunConfig } from '../../core/run-config';
import type { SvgRunProgress } from '../../workflows/svg-run';

const minimal = {
  runId: 'r1',
  repository: { path: '/src/repo', commit: 'main' },
  teacher: { baseUrl: 'http://127.0.0.1:8400/v1', model: 'm' },
  samples: 10,
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'sera-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run config', () => {
  it('fills in the method’s defaults', () => {
    const parsed = parseRunConfig(minimal);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    // No language: the index detects it from the repository's files.
    expect(parsed.value.language).toBeUndefined();
    expect(parsed.value).toMatchObject({
      concurrency: 4,
      threshold: 1,
      functionCap: 5000,
      judgeTries: 3,
    });
    expect(parsed.value.templates).toHaveLength(51);
    expect(parsed.value.teacher.temperature).toBe(0.6);
    expect(parsed.value.rolloutLimits.maxModelCalls).toBe(115);
    expect(parsed.value.dataset).toEqual({
      build: true,
      trajectories: 'T2',
      maxChangedLines: 40,
      maxTokens: 32768,
      answerText: 'drop-beside-reasoning',
      baseModel: 'Qwen/Qwen3-32B',
    });
    expect(parsed.value.scaffold).toEqual({
      prompts: 'authors',
      judge: 'authors',
      rollout1Attempts: 3,
      prTries: 10,
      prDemonstrations: 1,
    });
    expect(parsed.value.rolloutLimits.contextCapTokens).toBe(128_000);
  });

  it('rejects unknown keys, naming them, at every level', () => {
    const parsed = parseRunConfig({
      ...minimal,
      samplse: 10,
      repository: { ...minimal.repository, comit: 'x' },
      environment: { testCommand: 'pytest', setpu: ['pip install .'], toolchains: { nodejs: '22' } },
    });
    expect(parsed.ok).toBe(false);
    const message = parsed.ok ? '' : parsed.message;
    expect(message).toContain('"samplse"');
    expect(message).toContain('repository: Unrecognized key: "comit"');
    expect(message).toContain('environment: Unrecognized key: "setpu"');
    expect(message).toContain('environment.toolchains: Unrecognized key: "nodejs"');
  });

  it('takes an environment recipe and several languages', () => {
    const parsed = parseRunConfig({
      ...minimal,
      language: ['typescript', 'go'],
      index: { include: ['packages/core/**'], exclude: ['**/fixtures/**'] },
      environment: {
        from: { dockerfile: 'docker/dev.Dockerfile' },
        packages: ['golang-go'],
        toolchains: { node: '22' },
        setup: ['npm ci'],
        env: { CI: '1' },
        testCommand: 'npx vitest run',
        testRunner: 'vitest',
        testScope: 'all',
      },
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.language).toEqual(['typescript', 'go']);
    expect(parsed.value.environment).toMatchObject({
      toolchains: { node: '22' },
      testScope: 'all',
      requireTestsPass: false,
    });
    const bad = parseRunConfig({
      ...minimal,
      environment: {
        toolchains: { node: 'latest' },
        packages: ['Bad Name'],
        from: { image: 'x', dockerfile: 'y' },
        testRunner: 'mocha',
      },
    });
    expect(bad.ok).toBe(false);
    const message = bad.ok ? '' : bad.message;
    expect(message).toContain('environment.toolchains.node');
    expect(message).toContain('environment.packages.0');
    expect(message).toContain('environment.from');
    expect(message).toContain(
      'environment.testRunner: no test log parser named "mocha" (known: pytest, unittest, go, vitest, jest, cargo)',
    );
  });

  it('names every bad field', () => {
    const parsed = parseRunConfig({
      ...minimal,
      samples: 0,
      threshold: 2,
      templates: [51],
      language: 'cobol',
      dataset: { trajectories: 'T3', maxTokens: 100 },
      // Past the bound that keeps a segment's history under a tenth of Temporal's limits.
      samplesPerContinue: 501,
    });
    expect(parsed.ok).toBe(false);
    const message = parsed.ok ? '' : parsed.message;
    for (const field of [
      'samples',
      'threshold',
      'templates.0',
      'language',
      'dataset.trajectories',
      'dataset.maxTokens',
      'samplesPerContinue',
    ])
      expect(message).toContain(`${field}:`);
  });

  it('loads JSON and YAML files, making a relative repository path absolute', () => {
    const json = path.join(dir, 'run.json');
    writeFileSync(json, JSON.stringify({ ...minimal, repository: { path: 'repo', commit: 'v1' } }));
    expect(loadRunConfig(json).repository.path).toBe(path.resolve('repo'));
    const yaml = path.join(dir, 'run.yaml');
    writeFileSync(
      yaml,
      'runId: y\nrepository: {path: https://example.org/r.git, commit: main}\nteacher: {baseUrl: http://h/v1, model: m}\nsamples: 3\n',
    );
    expect(loadRunConfig(yaml).repository.path).toBe('https://example.org/r.git');
    writeFileSync(json, '{ not json');
    expect(() => loadRunConfig(json)).toThrow(/cannot read the run config/);
  });

  it('draws a progress line', () => {
    const progress: SvgRunProgress = {
      stage: 'sampling',
      samples: 20,
      started: 14,
      running: 4,
      finished: 10,
      reused: 0,
      accepted: 6,
      rejectedByReason: {},
      recallHistogram: [],
      tokens: 1000,
      costUsd: 0.5,
      concurrency: 4,
      paused: true,
      samplesPerMinute: 5,
      etaSeconds: 120,
    };
    const line = progressLine(progress);
    expect(line).toBe(
      '[############............] 10/20 done, 6 accepted, 4 running, 5.0/min, ETA 2 min, 1000 tokens, $0.50 (sampling) PAUSED',
    );
    expect(progressLine({ ...progress, reused: 7, paused: false })).toContain(
      '10/20 done (7 reused from the earlier run), 6 accepted',
    );
  });
});
