// The workflows of the long-run benchmark: the real `svgRun`, with a stand-in for its samples.
// What the benchmark measures is the run itself (its history across continue-as-new, the state
// it carries, the orchestration worker's memory), so each sample is a workflow that writes a
// real record artifact and returns at once instead of two rollouts in containers.
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { SvgActivities } from '../activities/llm/svg-activities';
import { TaskQueues } from '../core/queues';
import { reportToRun } from '../workflows/sample-report';
import { STAND_IN_SECONDS } from './stand-in-seconds';
import type { SvgSampleInput, SvgSampleSummary } from '../workflows/svg-sample';
import { hash32 as fnv } from '../core/teacher/random';

export { svgRun } from '../workflows/svg-run';

const llm = proxyActivities<Pick<SvgActivities, 'writeRecord'>>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '1m',
});

/** Shaped like an artifact id (sha256: and 64 hex digits), so the run carries state of a real run's size. */
function fakeId(seed: string): string {
  let out = '';
  for (let i = 0; out.length < 64; i += 1) out += fnv(`${seed}/${i}`).toString(16).padStart(8, '0');
  return `sha256:${out.slice(0, 64)}`;
}

/**
 * Stands in for `svgSample` (same workflow type name and result): about 60 % accepted, as the
 * offline teacher's runs are, and one rollout-1 patch in fifty repeated, so the run's duplicate
 * rule has work to do.
 */
export async function svgSample(input: SvgSampleInput): Promise<SvgSampleSummary> {
  const roll = fnv(`${input.seed}:${input.index}`) % 100;
  // Slow samples (`--long-slow-seconds`): each takes a tenth to all of that many seconds, as real
  // samples differ by their rollouts' lengths. The bench passes it beside the teacher settings,
  // which a stand-in never calls.
  const slowSeconds = Number(input.teacher.extraHeaders?.[STAND_IN_SECONDS] ?? 0);
  if (slowSeconds > 0) await sleep(Math.round(((1 + (roll % 10)) / 10) * slowSeconds * 1000));
  const accepted = roll < 60;
  const patchSeed = roll < 2 ? `dup-${input.index % 7}` : `p-${input.seed}-${input.index}`;
  const recall = accepted ? 1 : (roll % 50) / 100;
  const record = await llm.writeRecord({
    record: {
      runId: input.runId,
      index: input.index,
      standIn: workflowInfo().workflowType,
      accepted,
      recall,
    },
  });
  const summary: SvgSampleSummary = {
    index: input.index,
    accepted,
    reason: accepted ? undefined : 'recall_below_threshold',
    recall,
    patch1: fakeId(patchSeed),
    tokens: 40_000,
    costUsd: 0.04,
    record,
  };
  // As a real sample does: a run that continued as new meanwhile counts it from this report.
  await reportToRun({ index: input.index, runId: workflowInfo().firstExecutionRunId, summary });
  return summary;
}
