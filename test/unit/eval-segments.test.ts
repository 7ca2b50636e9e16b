import { describe, expect, it } from 'vitest';
import { passesFromChunks, type StoredGrade } from '../../activities/eval/report';
import {
  GRADE_CHUNK_CHARS,
  GradeChunker,
  jobAt,
  SOLVES_PER_RUN,
  storedGrade,
} from '../../workflows/eval-segments';
import type { SolveInstanceResult } from '../../workflows/solve-instance';

const ref = (id: string) => ({ id, size: 10, mediaType: 'text/plain', preview: 'x'.repeat(240) });

function result(seed: number, instanceId: string, resolved: boolean): SolveInstanceResult {
  return {
    seed,
    instanceId,
    exitStatus: 'submitted',
    turns: 7,
    promptTokens: 100,
    completionTokens: 20,
    trajectory: ref(`sha256:t-${seed}-${instanceId}`),
    grade: {
      instanceId,
      status: resolved ? 'resolved' : 'unresolved',
      resolved,
      patch: ref(`sha256:p-${seed}-${instanceId}`),
      log: ref(`sha256:l-${seed}-${instanceId}`),
      droppedTestFiles: [],
      failToPass: { passed: 1, total: 2, failing: ['tests/test_a.py::test_' + 'long_name_'.repeat(8)] },
    },
  };
}

describe('splitting an evaluation into workflow runs and grade chunks', () => {
  it('takes every seed of an instance back to back, instances in order, each run exactly once', () => {
    const seeds = [4, 5, 6];
    const jobs = Array.from({ length: 12 }, (_, j) => jobAt(j, seeds));
    expect(jobs.slice(0, 4)).toEqual([
      { instance: 0, seed: 4 },
      { instance: 0, seed: 5 },
      { instance: 0, seed: 6 },
      { instance: 1, seed: 4 },
    ]);
    const keys = new Set(jobs.map((j) => `${j.instance}/${j.seed}`));
    expect(keys.size).toBe(12);
    expect(Math.max(...jobs.map((j) => j.instance))).toBe(3);
  });

  it('hands out chunks once they reach the limit, none larger than the limit plus one grade, and loses none', () => {
    const chunker = new GradeChunker(2_000);
    const chunks: StoredGrade[][] = [];
    const grades = Array.from({ length: 50 }, (_, i) =>
      storedGrade(i, result(0, `repo__i-${i}`, i % 3 === 0)),
    );
    for (const grade of grades) {
      const chunk = chunker.add(grade);
      if (chunk) chunks.push(chunk);
    }
    const rest = chunker.drain();
    if (rest) chunks.push(rest);
    expect(chunker.drain()).toBeUndefined();
    expect(chunks.length).toBeGreaterThan(5);
    const largest = Math.max(...grades.map((g) => JSON.stringify(g).length + 1));
    for (const chunk of chunks) {
      const chars = chunk.reduce((sum, g) => sum + JSON.stringify(g).length + 1, 0);
      expect(chars).toBeLessThan(2_000 + largest);
    }
    expect(chunks.flat()).toEqual(grades);
  });

  it('stores a grade by artifact id only, as the log line has it', () => {
    const stored = storedGrade(3, result(1, 'repo__x', true));
    expect(stored).toMatchObject({
      seed: 1,
      index: 3,
      grade: {
        instanceId: 'repo__x',
        patch: 'sha256:p-1-repo__x',
        log: 'sha256:l-1-repo__x',
        agent: { exitStatus: 'submitted', turns: 7, trajectory: 'sha256:t-1-repo__x' },
      },
    });
    expect(JSON.stringify(stored)).not.toContain('x'.repeat(240));
  });

  it('reads chunks back into one pass per seed in the instances’ order, whatever order they were stored in', () => {
    const seeds = [0, 1, 2];
    const all = Array.from({ length: 12 }, (_, j) => {
      const { instance, seed } = jobAt(j, seeds);
      return storedGrade(instance, result(seed, `repo__i-${instance}`, (instance + seed) % 2 === 0));
    });
    const jsonl = (grades: StoredGrade[]) => grades.map((g) => JSON.stringify(g)).join('\n') + '\n';
    // Completion order differs from job order, and a chunk may hold several seeds.
    const shuffled = [jsonl(all.slice(7)), jsonl(all.slice(0, 3).reverse()), jsonl(all.slice(3, 7))];
    const passes = passesFromChunks(shuffled, seeds);
    expect(passes.map((p) => p.name)).toEqual(['seed-0', 'seed-1', 'seed-2']);
    for (const pass of passes)
      expect(pass.results.map((r) => r.instanceId)).toEqual([0, 1, 2, 3].map((i) => `repo__i-${i}`));
    expect(passes[1]!.results.map((r) => r.resolved)).toEqual([false, true, false, true]);
  });

  it('keeps a run within a tenth of Temporal’s history limits and a chunk within a tenth of its payload limit', () => {
    // The documented worst cases: 8 events and 10 KB per solving run, 10 KB per grade.
    expect(SOLVES_PER_RUN * 8).toBeLessThanOrEqual(50_000 / 10);
    expect(SOLVES_PER_RUN * 10_000).toBeLessThanOrEqual((50 * 1024 * 1024) / 10);
    expect(GRADE_CHUNK_CHARS + 10_000).toBeLessThanOrEqual((2 * 1024 * 1024) / 10);
  });
});
