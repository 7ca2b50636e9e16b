import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { floorActivities } from './floor-activities';
import { FLOOR_ACTIVITY_QUEUE } from './floor-workflows';
import { repoRoot } from '../infra/paths';
import { bundleQuietly } from './quiet-bundle';

const FLOOR_WORKFLOW_QUEUE = 'sera-bench-floor';

export interface FloorFigures {
  /** Wall time of the floor workflows, client start to result, summed. */
  wallMs: number;
  /** What their activities slept: each step counts its longest activity. */
  sleptMs: number;
  activities: number;
}

/**
 * Temporal's own cost for rollouts of these shapes: for each, a workflow that runs the same
 * activities in the same steps, each only sleeping, on this server and workers of the same kind
 * (workflow and activities on their own queues, in this process). Wall − slept is the floor that
 * any workflow with one activity per model call and per tool call pays here.
 */
export async function measureFloor(
  connection: NativeConnection,
  client: Client,
  shapes: number[][][],
): Promise<FloorFigures> {
  const workflowWorker = await Worker.create({
    connection,
    namespace: client.options.namespace,
    taskQueue: FLOOR_WORKFLOW_QUEUE,
    workflowBundle: await bundleQuietly(path.join(repoRoot, 'bench', 'floor-workflows.ts')),
  });
  const activityWorker = await Worker.create({
    connection,
    namespace: client.options.namespace,
    taskQueue: FLOOR_ACTIVITY_QUEUE,
    activities: floorActivities,
  });
  const running = Promise.all([workflowWorker.run(), activityWorker.run()]);
  const figures: FloorFigures = { wallMs: 0, sleptMs: 0, activities: 0 };
  try {
    for (const [i, steps] of shapes.entries()) {
      const started = performance.now();
      await client.workflow.execute('activityChain', {
        taskQueue: FLOOR_WORKFLOW_QUEUE,
        workflowId: `sera-bench-floor-${process.pid}-${i}`,
        args: [steps],
      });
      figures.wallMs += performance.now() - started;
      figures.sleptMs += steps.reduce((sum, step) => sum + Math.max(0, ...step), 0);
      figures.activities += steps.reduce((sum, step) => sum + step.length, 0);
    }
  } finally {
    workflowWorker.shutdown();
    activityWorker.shutdown();
    await running;
  }
  return figures;
}
