import type Docker from 'dockerode';
import { createAgentToolActivities } from '../activities/agent/activities';
import { createLlmActivities } from '../activities/llm/activities';
import { createSandbox, destroySandbox } from '../activities/sandbox/containers';
import { formatProblemObservation, NO_TOOL_CALL_PROBLEM, observation } from '../core/agent/observation';
import { systemPrompt, taskMessage } from '../core/agent/prompts';
import type { RolloutInput } from '../core/agent/rollout-input';
import { parseToolCall } from '../core/agent/tool-call';
import type { PendingObservation } from '../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../core/artifacts';

export interface PlainRolloutResult {
  submitted: boolean;
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
  await createSandbox(docker, {
    name,
    image: input.sandbox.image,
    baseCommit: input.sandbox.baseCommit,
    runId: input.runId,
    workflowId: 'plain-loop',
    limits: input.sandbox.limits,
  });
  try {
    while (turn < input.limits.maxModelCalls) {
      const reply = await llm.agentTurn({
        rolloutId: input.rolloutId,
        turn: turn + 1,
        model: input.model,
        trajectory,
        start: trajectory ? undefined : { system: systemPrompt(), user: taskMessage(input.kind, input.task) },
        observations: pending,
      });
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
        continue;
      }
      for (const [index, call] of reply.toolCalls.entries()) {
        const tool = parseToolCall(call.function.name, call.function.arguments);
        if (!tool.ok) {
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
          return { submitted: true, turns: turn, wallMs: performance.now() - started, modelMs, toolMs };
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
    }
    return { submitted: false, turns: turn, wallMs: performance.now() - started, modelMs, toolMs };
  } finally {
    await destroySandbox(docker, name);
  }
}
