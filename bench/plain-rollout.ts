import type Docker from 'dockerode';
import { createAgentToolActivities } from '../activities/agent/activities';
import { createLlmActivities } from '../activities/llm/activities';
import { createSandbox, destroySandbox } from '../activities/sandbox/containers';
import { execInSandbox } from '../activities/sandbox/exec';
import { patchStats, type PatchStats } from '../core/patch-stats';
import { formatProblemObservation, NO_TOOL_CALL_PROBLEM, observation } from '../core/agent/observation';
import { systemPrompt, taskMessage } from '../core/agent/prompts';
import type { RolloutInput } from '../core/agent/rollout-input';
import { parseToolCall } from '../core/agent/tool-call';
import type { PendingObservation } from '../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../core/artifacts';

export interface PlainRolloutResult {
  submitted: boolean;
  exitStatus: 'submitted' | 'exit_turns' | 'exit_format';
  /** With `finish`: the trajectory with its exit recorded, and the submitted patch. */
  trajectory?: ArtifactRef;
  patch?: ArtifactRef & PatchStats;
  turns: number;
  wallMs: number;
  modelMs: number;
  toolMs: number;
}

/**
 * The same rollout as workflows/rollout.ts, as a plain in-process loop over the same activity
 * functions: no Temporal, no durability. The benchmark's baseline for orchestration overhead.
 */
export async function plainRollout(
  docker: Docker,
  artifacts: ArtifactStore,
  input: RolloutInput,
  options: { finish?: boolean } = {},
): Promise<PlainRolloutResult> {
  const llm = createLlmActivities({ artifacts });
  const tools = createAgentToolActivities({ docker, artifacts });
  const name = `sera-plain-${input.runId}-${input.rolloutId}`;
  const started = performance.now();
  let modelMs = 0;
  let toolMs = 0;
  let turn = 0;
  let trajectory: ArtifactRef | undefined;
  let pending: PendingObservation[] = [];
  let armed = false;
  let formatErrors = 0;
  /** As the workflow ends a rollout: the patch (when submitted) and the exit in the trajectory. */
  const end = async (exitStatus: PlainRolloutResult['exitStatus']): Promise<PlainRolloutResult> => {
    const submitted = exitStatus === 'submitted';
    let patch: (ArtifactRef & PatchStats) | undefined;
    if (options.finish && submitted) {
      const diff = await execInSandbox(docker, {
        container: name,
        command: `git add -A && git diff --cached ${input.sandbox.baseCommit}`,
        timeoutSeconds: 120,
        outputCapBytes: 64 * 1024 * 1024,
      });
      patch = { ...(await artifacts.put(diff.output, 'text/x-diff')), ...patchStats(diff.output) };
    }
    const finished =
      options.finish && trajectory
        ? await llm.finishTrajectory({
            trajectory,
            observations: pending,
            exit: { status: exitStatus, patch },
          })
        : trajectory;
    return {
      submitted,
      exitStatus,
      trajectory: finished,
      patch,
      turns: turn,
      wallMs: performance.now() - started,
      modelMs,
      toolMs,
    };
  };
  // The baseline runs on this machine's engine, with the image the benchmark built.
  const image = input.sandbox.image;
  if (!image) throw new Error('the plain loop needs sandbox.image');
  const ask = () =>
    llm.agentTurn({
      rolloutId: input.rolloutId,
      turn: turn + 1,
      model: input.model,
      trajectory,
      start: trajectory
        ? undefined
        : { system: systemPrompt(input.languages), user: taskMessage(input.kind, input.task) },
      observations: pending,
      formatRequeries: input.limits.formatRequeries,
    });
  // As the workflow does: the first model call is asked while the container is made.
  let first: ReturnType<typeof ask> | undefined = ask();
  first.catch(() => undefined);
  await createSandbox(docker, {
    name,
    image,
    baseCommit: input.sandbox.baseCommit,
    runId: input.runId,
    workflowId: 'plain-loop',
    limits: input.sandbox.limits,
  });
  try {
    while (turn < input.limits.maxModelCalls) {
      const reply = await (first ?? ask());
      first = undefined;
      turn += 1;
      modelMs += reply.modelMs;
      trajectory = reply.trajectory;
      pending = [];
      if (reply.toolCalls.length === 0) {
        pending.push({
          name: 'none',
          ok: false,
          ms: 0,
          text: formatProblemObservation(NO_TOOL_CALL_PROBLEM),
        });
        formatErrors += 1;
        if (formatErrors >= input.limits.maxFormatErrors) return await end('exit_format');
        continue;
      }
      let malformed = false;
      for (const [index, call] of reply.toolCalls.entries()) {
        const tool = parseToolCall(call.function.name, call.function.arguments);
        if (!tool.ok) {
          malformed = true;
          pending.push({
            toolCallId: call.id,
            name: call.function.name,
            ok: false,
            ms: 0,
            text: formatProblemObservation(tool.problem),
          });
          continue;
        }
        if (tool.action.tool === 'submit' && armed) {
          pending.push({
            toolCallId: call.id,
            name: 'submit',
            ok: true,
            ms: 0,
            text: observation('Submitted.'),
          });
          return await end('submitted');
        }
        const result = await tools.runTool({
          container: name,
          baseCommit: input.sandbox.baseCommit,
          key: `t${turn}-${index}`,
          action: tool.action,
          commandTimeoutSeconds: input.limits.commandTimeoutSeconds,
          observationCapBytes: input.limits.observationCapBytes,
        });
        armed = tool.action.tool === 'submit';
        toolMs += result.ms;
        pending.push({
          toolCallId: call.id,
          name: call.function.name,
          ok: result.ok,
          ms: result.ms,
          ref: result.observation,
        });
      }
      formatErrors = malformed ? formatErrors + 1 : 0;
      if (formatErrors >= input.limits.maxFormatErrors) return await end('exit_format');
    }
    return await end('exit_turns');
  } finally {
    await destroySandbox(docker, name);
  }
}
