import OpenAI from 'openai';
import { activityContext, heartbeat } from '../common/activity-context';
import { parseToolCall } from '../../core/agent/tool-call';
import { AGENT_TOOLS } from '../../core/agent/tools';
import type {
  ChatMessage,
  ExitStatus,
  PendingObservation,
  ToolCallRecord,
  TokenUsage,
  Trajectory,
} from '../../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import type { ModelSettings } from '../../core/agent/rollout-input';
import { openaiClient } from './chat';
import { asModelFailure, isContextOverflow } from './model-errors';
import { appendObservations, loadTrajectory, saveTrajectory } from './trajectory-store';

export interface LlmDeps {
  artifacts: ArtifactStore;
  env?: NodeJS.ProcessEnv;
}

export interface AgentTurnInput {
  rolloutId: string;
  turn: number;
  model: ModelSettings;
  /** The trajectory so far; absent on the first turn, which starts from `start`. */
  trajectory?: ArtifactRef;
  start?: { system: string; user: string };
  observations: PendingObservation[];
  /** Replies with a malformed tool call asked again before one is kept (absent: none). */
  formatRequeries?: number;
}

export interface AgentTurnResult {
  trajectory: ArtifactRef;
  toolCalls: ToolCallRecord[];
  content: string | null;
  usage: TokenUsage;
  modelMs: number;
  /** The server refused the conversation as too long: the rollout ends with exit_context. */
  contextExceeded: boolean;
}

export interface FinishTrajectoryInput {
  trajectory: ArtifactRef;
  observations: PendingObservation[];
  exit: { status: ExitStatus; detail?: string; patch?: ArtifactRef };
}

/** True when a reply's tool call would come back to the model as a format error. */
function hasMalformedCall(completion: OpenAI.Chat.Completions.ChatCompletion): boolean {
  return (completion.choices[0]?.message?.tool_calls ?? []).some(
    (call) => call.type === 'function' && !parseToolCall(call.function.name, call.function.arguments).ok,
  );
}

/** The llm role's activities: one model call per turn, and the trajectory's last write. */
export function createLlmActivities(deps: LlmDeps) {
  const env = deps.env ?? process.env;
  return {
    async agentTurn(input: AgentTurnInput): Promise<AgentTurnResult> {
      const trajectory: Trajectory = input.trajectory
        ? await loadTrajectory(deps.artifacts, input.trajectory)
        : {
            version: 1,
            rolloutId: input.rolloutId,
            messages: [
              { role: 'system', content: input.start?.system ?? '' },
              { role: 'user', content: input.start?.user ?? '' },
            ],
            turns: [],
          };
      await appendObservations(deps.artifacts, trajectory, input.observations);

      const started = Date.now();
      // Heartbeats tell Temporal the worker is alive while the model thinks (a dead worker's call is retried).
      const ticker = setInterval(heartbeat, 1000);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      let requeried = 0;
      const spent = { promptTokens: 0, completionTokens: 0 };
      try {
        for (;;) {
          completion = await openaiClient(input.model, env).chat.completions.create(
            {
              model: input.model.model,
              messages: trajectory.messages as OpenAI.Chat.Completions.ChatCompletionMessageParam[],
              tools: AGENT_TOOLS,
              temperature: input.model.temperature,
              max_tokens: input.model.maxTokens,
              ...(input.model.seed !== undefined ? { seed: input.model.seed } : {}),
            },
            { signal: activityContext()?.cancellationSignal },
          );
          if (requeried >= (input.formatRequeries ?? 0) || !hasMalformedCall(completion)) break;
          // Asked again with the same conversation; the malformed reply is not kept.
          requeried += 1;
          spent.promptTokens += completion.usage?.prompt_tokens ?? 0;
          spent.completionTokens += completion.usage?.completion_tokens ?? 0;
        }
      } catch (error) {
        if (isContextOverflow(error)) {
          const ref = await saveTrajectory(deps.artifacts, trajectory);
          return {
            trajectory: ref,
            toolCalls: [],
            content: null,
            usage: { promptTokens: 0, completionTokens: 0 },
            modelMs: Date.now() - started,
            contextExceeded: true,
          };
        }
        throw asModelFailure(error, input.model.baseUrl, input.model.model);
      } finally {
        clearInterval(ticker);
      }
      const modelMs = Date.now() - started;
      const message = completion.choices[0]?.message;
      const toolCalls: ToolCallRecord[] = (message?.tool_calls ?? [])
        .filter((c) => c.type === 'function')
        .map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.function.name, arguments: c.function.arguments },
        }));
      const usage = {
        promptTokens: spent.promptTokens + (completion.usage?.prompt_tokens ?? 0),
        completionTokens: spent.completionTokens + (completion.usage?.completion_tokens ?? 0),
      };
      const assistant: ChatMessage = {
        role: 'assistant',
        content: message?.content ?? null,
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      };
      trajectory.messages.push(assistant);
      trajectory.turns.push({
        turn: input.turn,
        model: completion.model ?? input.model.model,
        usage,
        modelMs,
        ...(requeried > 0 ? { requeried } : {}),
        tools: [],
      });
      const ref = await saveTrajectory(deps.artifacts, trajectory);
      return {
        trajectory: ref,
        toolCalls,
        content: assistant.content,
        usage,
        modelMs,
        contextExceeded: false,
      };
    },

    async finishTrajectory(input: FinishTrajectoryInput): Promise<ArtifactRef> {
      const trajectory = await loadTrajectory(deps.artifacts, input.trajectory);
      await appendObservations(deps.artifacts, trajectory, input.observations);
      trajectory.exit = input.exit;
      return saveTrajectory(deps.artifacts, trajectory);
    },
  };
}

export type LlmActivities = ReturnType<typeof createLlmActivities>;
