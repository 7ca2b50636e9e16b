import { proxyActivities, upsertMemo } from '@temporalio/workflow';
import { z } from 'zod';
import type { ScalingActivities, ScalingReportOutputs } from '../activities/eval/scaling';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { X_QUANTITIES, type MeasuredPoint } from '../core/eval/scaling-report';
import { TaskQueues } from '../core/queues';
import { parseOrFail } from './eval-common';

export const FitScalingInputSchema = z
  .object({
    /** Finished runs (specializeRepository, svgRun) or evaluations (evaluateModel), by workflow id. */
    workflowIds: z.array(z.string().min(1)).default([]),
    /** Evaluations outside a run, each with its x given. */
    evaluations: z.array(z.object({ workflowId: z.string().min(1), x: z.number().positive() })).default([]),
    x: z.enum(X_QUANTITIES).default('samples'),
    /** A resolve rate to project the samples and cost for. */
    target: z.number().gt(0).lte(1).optional(),
  })
  .strict();

export type FitScalingRequest = z.input<typeof FitScalingInputSchema>;

export interface FitScalingResult extends ScalingReportOutputs {
  points: MeasuredPoint[];
}

const scaling = proxyActivities<ScalingActivities>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '2s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/**
 * Fits y = c − a·x^(−b) over finished runs and evaluations: the points are read from their
 * results by an activity (through the worker's Temporal client), then the fit, report.md,
 * scaling.json and the plot are stored as artifacts, named in the result and the memo.
 */
export async function fitScaling(request: FitScalingRequest): Promise<FitScalingResult> {
  const input = parseOrFail(FitScalingInputSchema, request, 'scaling input');
  const points = await scaling.collectScalingPoints({
    sources: [...input.workflowIds.map((workflowId) => ({ workflowId })), ...input.evaluations],
    x: input.x,
  });
  const outputs = await scaling.writeScalingReport({ points, x: input.x, target: input.target });
  upsertMemo({
    headline: outputs.headline,
    report: outputs.report.id,
    reportMarkdown: outputs.markdown.id,
    plot: outputs.plot.id,
  });
  return { ...outputs, points };
}
