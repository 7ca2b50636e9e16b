import { z } from 'zod';
import { PROMPT_STYLES } from './prompts';
import { ImageRecipeSchema } from '../environment-recipe';
import { SandboxLimitsSchema } from '../environment-input';
import { HOST_START_TIMEOUT_SECONDS } from '../host-lost';

/** How to reach the model: any OpenAI-compatible endpoint. */
export const ModelSettingsSchema = z.object({
  baseUrl: z.string().url(),
  model: z.string().min(1),
  /** Name of the environment variable (on the llm worker) that holds the API key, if any. */
  apiKeyEnv: z.string().optional(),
  temperature: z.number().min(0).max(2).default(0.6),
  seed: z.number().int().optional(),
  maxTokens: z.number().int().positive().default(4096),
  /**
   * The request's name for the token limit. OpenAI's reasoning models (o-series, gpt-5) refuse
   * `max_tokens` and want `max_completion_tokens`; a refusal naming it switches once by itself.
   */
  tokenLimitParam: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
  /** Headers sent with every request (e.g. an organisation or routing header). */
  extraHeaders: z.record(z.string(), z.string()).optional(),
  /** Secret headers: header name → environment variable (on the llm worker) holding its value. */
  headersFromEnv: z.record(z.string(), z.string()).optional(),
  requestTimeoutSeconds: z.number().int().positive().default(600),
  /** Dollars per million tokens, for the cost cap and the SeraCostUsd search attribute. */
  inputUsdPerMTok: z.number().min(0).default(0),
  outputUsdPerMTok: z.number().min(0).default(0),
  /**
   * The workflow that serves this model (an evaluation of a checkpoint): each request asks it for
   * the engine's URL now, so solves follow an engine that moved to another host.
   */
  servedBy: z.string().min(1).optional(),
});
export type ModelSettings = z.output<typeof ModelSettingsSchema>;

export const RolloutLimitsSchema = z.object({
  maxModelCalls: z.number().int().positive().default(115),
  costCapUsd: z.number().positive().default(5),
  /**
   * A prompt over this many tokens ends the rollout with exit_context. The authors served
   * GLM-4.5-Air with 128,000 tokens of context and set no cap of their own: long trajectories are
   * cut to the student's context by the dataset stage's truncation, not here.
   */
  contextCapTokens: z.number().int().positive().default(128_000),
  wallClockSeconds: z.number().int().positive().default(3600),
  commandTimeoutSeconds: z.number().int().positive().default(120),
  observationCapBytes: z
    .number()
    .int()
    .min(1024)
    .default(32 * 1024),
  /** Malformed tool calls in a row before the rollout ends with exit_format. */
  maxFormatErrors: z.number().int().positive().default(3),
  /**
   * A reply that goes wrong (cut at the token limit, empty, without a tool call, or with a call
   * that does not parse: JSON, an unknown tool, a missing argument) is asked again up to this
   * many times with a new seed each time, as SWE-agent requeries format errors, and never joins
   * the trajectory; past them the rollout ends with exit_format naming the cause. (Rollouts begun
   * before the `reply-policy` patch asked again only on a malformed call, then kept the reply.)
   */
  formatRequeries: z.number().int().min(0).max(10).default(3),
  /** The first reply cut at the token limit doubles `model.maxTokens` for the rest of that turn. */
  raiseTokenLimitOnce: z.boolean().default(true),
});
export type RolloutLimits = z.output<typeof RolloutLimitsSchema>;

export const RolloutInputSchema = z.object({
  runId: z.string().min(1),
  /** Unique within the run, e.g. `s0007-r1`. Names the container. */
  rolloutId: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/),
  /** change: rollout 1; reproduce: rollout 2; solve: an evaluation task (rollout 2's prompt). */
  kind: z.enum(['change', 'reproduce', 'solve']),
  task: z.string().min(1),
  /** The task message's and submit review's words: the authors' way of working (default) or the spec's one line. */
  prompts: z.enum(PROMPT_STYLES).default('authors'),
  /** The repository's languages (`python`, `typescript` …), named in the system prompt; none: "a repository". */
  languages: z.array(z.string().min(1)).optional(),
  sandbox: z
    .object({
      /**
       * The sandbox host queue that holds the image (from claimSandboxHost), and the image. A
       * rollout given `repository` may leave both out: it claims a host (and its image) itself.
       */
      hostQueue: z.string().min(1).optional(),
      image: z.string().min(1).optional(),
      baseCommit: z.string().min(1),
      limits: SandboxLimitsSchema.prefault({}),
      /**
       * The repository the image was built from, as the sandbox hosts see it. With it, the rollout
       * claims a host of its own (any live one, which builds the image if it has none) and moves to
       * another host when its host's engine stops answering; without it, it stays on `hostQueue`.
       */
      repository: z.string().min(1).optional(),
      /** The recipe the image was built with (a host that claims the rollout builds the same one). */
      recipe: ImageRecipeSchema.optional(),
      /**
       * A task that waits this long on the host's queue counts as a lost host (its worker is gone)
       * and moves the rollout. A live host holds no more containers than it has task slots
       * (core/host-capacity.ts), so its tasks do not queue for long and a minute is enough.
       */
      hostStartTimeoutSeconds: z.number().int().min(5).default(HOST_START_TIMEOUT_SECONDS),
    })
    .refine((s) => s.repository !== undefined || (s.hostQueue !== undefined && s.image !== undefined), {
      message: 'hostQueue and image are required unless repository is given (the rollout then claims a host)',
    }),
  model: ModelSettingsSchema,
  limits: RolloutLimitsSchema.prefault({}),
  heartbeatTimeoutSeconds: z.number().int().min(2).default(30),
  /** Continue-as-new once the history has this many events. */
  historyEventsBeforeContinue: z.number().int().min(50).default(5000),
});
export type RolloutRequest = z.input<typeof RolloutInputSchema>;
export type RolloutInput = z.output<typeof RolloutInputSchema>;
