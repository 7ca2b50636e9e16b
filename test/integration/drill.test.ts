import { describe, expect, it } from 'vitest';
import { DRILL_DEFAULTS, runDrill } from '../../client/drill';
import { useTestServer } from '../support/temporal';

/**
 * The fault drill of `npm run drill`, smaller: it runs on its own dev server, Docker engine and
 * worker processes (the test server is only used for its artifact directory).
 */
describe('the fault drill', () => {
  it('ends a disturbed specialization with what an undisturbed one makes, and leaves nothing behind', async () => {
    useTestServer();
    const lines: string[] = [];
    const report = await runDrill({
      ...DRILL_DEFAULTS,
      seed: 4,
      samples: 4,
      trainSteps: 4,
      log: (line) => lines.push(line),
    });
    console.log(lines.join('\n'));
    expect(report.actions.map((a) => a.action).sort()).toEqual([
      'kill -9 the gpu-serve worker',
      'kill -9 the gpu-train worker',
      'kill -9 the llm worker',
      'kill -9 the orchestration worker',
      'kill -9 the sandbox worker',
      'restart the Docker engine',
      'restart the Temporal dev server',
    ]);
    expect(report.comparisons.map((c) => [c.what, c.same])).toEqual([
      ['samples (fate and patches of each)', true],
      ['dataset bytes (artifact id)', true],
      ['trained model (artifact id)', true],
      ['base model predictions', true],
      ['student predictions', true],
    ]);
    expect(report.leftovers).toEqual([]);
    // The proxy did disturb the teacher's answers.
    expect(report.proxy.rate_limited + report.proxy.server_error + report.proxy.cut).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 1_500_000);
});
