import { describe, expect, it } from 'vitest';
import { DRILL_DEFAULTS, runDrill } from '../../client/drill';
import { useTestServer } from '../support/temporal';

const DISRUPTIONS = [
  'kill -9 the gpu-serve worker',
  'kill -9 the gpu-train worker',
  'kill -9 the llm worker',
  'kill -9 the orchestration worker',
  'kill -9 the sandbox worker',
  'restart the Docker engine',
  'restart the Temporal dev server',
];

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
    // Every disruption was done, and the histories show each one hit work in flight.
    expect(report.notDone).toEqual([]);
    expect(report.actions.map((a) => a.action).sort()).toEqual(DISRUPTIONS);
    expect(report.faults.map((f) => f.label).sort()).toEqual(DISRUPTIONS);
    expect(
      report.faults.filter((f) => !f.hit).map((f) => `${f.label}: ${f.evidence}`),
      'faults that missed',
    ).toEqual([]);
    expect(report.comparisons.map((c) => [c.what, c.same])).toEqual([
      ['samples (fate and patches of each)', true],
      ['dataset bytes (artifact id)', true],
      ['trained model (artifact id)', true],
      ['base model resolved runs', true],
      ['base model predictions', true],
      ['student predictions', true],
    ]);
    // The base model (the solving test teacher) resolved some runs: the predictions compared are
    // not all failures.
    expect(report.baseResolved?.calm).toBeGreaterThan(0);
    expect(report.leftovers).toEqual([]);
    // The proxy did disturb the teacher's answers.
    expect(report.proxy.rate_limited + report.proxy.server_error + report.proxy.cut).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 1_500_000);
});
