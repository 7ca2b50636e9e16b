import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { ScalingInputError, type ScalingFit } from '../../core/eval/scaling-fit';
import {
  describeFit,
  describeProjection,
  fitScalingPoints,
  pointAt,
  scalingChart,
  scalingMarkdown,
  type MeasuredPoint,
  type ScalingResult,
  type XQuantity,
} from '../../core/eval/scaling-report';
import type { SeedSummary } from '../../core/eval/stats';
import type { EvaluateModelResult } from '../../workflows/evaluate-model';
import type { RunEvaluationResult } from '../../workflows/run-evaluation';
import type { SpecializeResult } from '../../workflows/specialize-repository';
import type { SvgRunResult } from '../../workflows/svg-run';

/** A finished run or evaluation to take a point from; `x` only for an evaluation outside a run. */
export interface ScalingSource {
  workflowId: string;
  x?: number;
}

type RunCost = Pick<MeasuredPoint, 'samples' | 'costUsd' | 'tokens'>;

const RUN_TYPES = ['specializeRepository', 'svgRun'];

/** What a run's result says of its dataset, its teacher's cost and its student's evaluation. */
export function runFacts(
  type: string,
  result: unknown,
): RunCost & { runId: string; student?: RunEvaluationResult['student']; baseWorkflowId?: string } {
  if (type === 'specializeRepository') {
    const r = result as SpecializeResult;
    return {
      runId: r.runId,
      samples: r.dataset?.lines,
      costUsd: r.generation.costUsd,
      tokens: r.generation.tokens,
      student: r.evaluation?.student,
      baseWorkflowId: r.evaluation?.base?.workflowId,
    };
  }
  const r = result as SvgRunResult;
  return {
    runId: r.runId,
    samples: r.dataset?.lines,
    costUsd: r.costUsd,
    tokens: r.tokens,
    student: r.evaluation?.student,
    baseWorkflowId: r.evaluation?.base?.workflowId,
  };
}

function rateOf(
  summary: SeedSummary | undefined,
  what: string,
): Pick<MeasuredPoint, 'rate' | 'seeds' | 'std'> {
  if (!summary || typeof summary.mean !== 'number' || !Number.isFinite(summary.mean))
    throw new ScalingInputError(`${what} has no resolve rate`);
  return { rate: summary.mean, seeds: summary.seeds, std: summary.std };
}

/** The point of a finished run: its dataset's size and teacher cost, its student's mean rate. */
export function pointOfRun(workflowId: string, type: string, result: unknown): MeasuredPoint {
  const facts = runFacts(type, result);
  if (!facts.student)
    throw new ScalingInputError(
      `run ${workflowId} has no resolve rate: its student was not evaluated (its config has no \`train\` and \`evaluate\`, or its dataset was empty)`,
    );
  return {
    label: facts.runId,
    workflowId,
    samples: facts.samples,
    costUsd: facts.costUsd,
    tokens: facts.tokens,
    ...rateOf(facts.student.summary, `run ${workflowId}`),
  };
}

/** The point of a finished evaluation: its x given, or taken from the run it belongs to. */
export function pointOfEvaluation(
  workflowId: string,
  result: unknown,
  from: { x: XQuantity; given: number } | { run: RunCost & { runId: string } },
): MeasuredPoint {
  const rate = rateOf((result as Partial<EvaluateModelResult>).summary, `evaluation ${workflowId}`);
  if ('given' in from) return { ...pointAt(from.x, from.given, rate.rate, workflowId), ...rate, workflowId };
  const { samples, costUsd, tokens, runId } = from.run;
  return { label: `${runId} (${workflowId})`, workflowId, samples, costUsd, tokens, ...rate };
}

/** A workflow's latest run, which must have completed; the error names it and its state. */
async function finished(
  client: Client,
  workflowId: string,
  subject: string,
): Promise<{ type: string; result: unknown; parent?: string }> {
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new ScalingInputError(`${subject}: no such workflow in this namespace`);
    throw error;
  }
  if (description.status.name !== 'COMPLETED')
    throw new ScalingInputError(
      `${subject} did not finish (${description.status.name.toLowerCase()}): only finished runs and evaluations are points`,
    );
  return {
    type: description.type,
    result: await handle.result(),
    parent: description.parentExecution?.workflowId ?? undefined,
  };
}

/** Reads one point per source from the finished workflows' results, in the order given. */
export async function collectPoints(
  client: Client,
  sources: readonly ScalingSource[],
  x: XQuantity,
): Promise<MeasuredPoint[]> {
  const points: MeasuredPoint[] = [];
  for (const source of sources) {
    const id = source.workflowId;
    const found = await finished(client, id, `workflow ${id}`);
    if (RUN_TYPES.includes(found.type)) {
      if (source.x !== undefined)
        throw new ScalingInputError(
          `run ${id}: its x comes from its result; give x only for an evaluation outside a run`,
        );
      points.push(pointOfRun(id, found.type, found.result));
    } else if (found.type === 'evaluateModel') {
      if (source.x !== undefined) {
        points.push(pointOfEvaluation(id, found.result, { x, given: source.x }));
        continue;
      }
      if (!found.parent)
        throw new ScalingInputError(
          `evaluation ${id} is not part of a run, so nothing says its x: give it as ${id}=<${x}>`,
        );
      const run = await finished(client, found.parent, `run ${found.parent} (of evaluation ${id})`);
      if (!RUN_TYPES.includes(run.type))
        throw new ScalingInputError(
          `evaluation ${id} was started by ${found.parent}, a ${run.type}, not a run: give its x as ${id}=<${x}>`,
        );
      const facts = runFacts(run.type, run.result);
      if (facts.baseWorkflowId === id)
        throw new ScalingInputError(
          `evaluation ${id} is of run ${found.parent}'s base model, which was not trained on the run's samples`,
        );
      points.push(pointOfEvaluation(id, found.result, { run: facts }));
    } else {
      throw new ScalingInputError(
        `workflow ${id} is a ${found.type}: a point is a run (specializeRepository, svgRun) or an evaluation (evaluateModel)`,
      );
    }
  }
  return points;
}

export interface ScalingReportOutputs {
  report: ArtifactRef;
  markdown: ArtifactRef;
  plot: ArtifactRef;
  fit: ScalingFit;
  projection?: ScalingResult['projection'];
  headline: string;
}

/** Bad input is not retried: it fails the workflow with the message. */
function asFailure(error: unknown): unknown {
  if (error instanceof ScalingInputError)
    return ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: error.message,
      nonRetryable: true,
    });
  return error;
}

export function createScalingActivities(deps: { artifacts: ArtifactStore }) {
  return {
    /** Points from finished runs and evaluations, read through the worker's Temporal client. */
    async collectScalingPoints(input: { sources: ScalingSource[]; x: XQuantity }): Promise<MeasuredPoint[]> {
      try {
        return await collectPoints(Context.current().client, input.sources, input.x);
      } catch (error) {
        throw asFailure(error);
      }
    },

    /** Fits the points and stores scaling.json, report.md and the plot; content-addressed, so a retry writes the same. */
    async writeScalingReport(input: {
      points: MeasuredPoint[];
      x: XQuantity;
      target?: number;
    }): Promise<ScalingReportOutputs> {
      let result: ScalingResult;
      try {
        result = fitScalingPoints(input.points, input.x, input.target);
      } catch (error) {
        throw asFailure(error);
      }
      const plot = await deps.artifacts.put(scalingChart(result), 'image/svg+xml');
      const headline = [describeFit(result.fit), describeProjection(result)].filter(Boolean).join('; ');
      return {
        report: await deps.artifacts.put(JSON.stringify(result, null, 2), 'application/json'),
        markdown: await deps.artifacts.put(scalingMarkdown(result, { artifact: plot.id }), 'text/markdown'),
        plot,
        fit: result.fit,
        projection: result.projection,
        headline,
      };
    },
  };
}

export type ScalingActivities = ReturnType<typeof createScalingActivities>;
