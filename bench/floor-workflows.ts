// The workflow of the rollout benchmark's floor: Temporal with nothing else in the way. It runs
// the activities a rollout ran, in the same order and groups, each only sleeping as long as the
// rollout's did, so what it costs beyond their sleep is the server's and the SDK's round trips.
import { proxyActivities } from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities';

export const FLOOR_ACTIVITY_QUEUE = 'sera-bench-floor-activities';

const { sleepFor } = proxyActivities<FloorActivities>({
  taskQueue: FLOOR_ACTIVITY_QUEUE,
  startToCloseTimeout: '10m',
});

/** Each step's activities run together (a rollout's first model call beside its create); steps in order. */
export async function activityChain(steps: number[][]): Promise<void> {
  for (const step of steps) await Promise.all(step.map((ms) => sleepFor(ms)));
}
