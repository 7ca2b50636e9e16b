import { z } from 'zod';

/** What trainer/events.py prints before each event's JSON. */
export const EVENT_PREFIX = 'SERA_EVENT ';

/** Exit statuses of trainer/sft_train.py that mean something other than "crashed". */
export const TrainerExit = { badInput: 3, orphaned: 4 } as const;

const num = z.number();
const HistoryEntry = z.object({
  step: num,
  loss: num,
  learning_rate: num.optional(),
  epoch: num.optional(),
});
export type HistoryEntry = z.output<typeof HistoryEntry>;

export const TrainerEventSchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('start'),
    lines: num,
    samples: num,
    too_long: num,
    untrained: num,
    tokens: num,
    trained_tokens: num,
    chat_template_overhead: num,
    parameters: num,
    planned_steps: num,
    resumed_from_step: num.nullable(),
    device: z.string(),
    gpus: num,
    world_size: num,
    /** How the Trainer really spreads the model over the processes. */
    sharding: z.enum(['none', 'ddp', 'fsdp', 'zero3']).optional(),
  }),
  z.object({
    event: z.literal('log'),
    step: num,
    max_steps: num,
    epoch: num,
    loss: num,
    learning_rate: num.nullable().optional(),
    grad_norm: num.nullable().optional(),
    tokens_seen: num,
    tokens_per_s: num,
  }),
  z.object({ event: z.literal('checkpoint'), step: num, dir: z.string(), tokens_seen: num }),
  z.object({ event: z.literal('skipped'), id: z.string(), tokens: num, reason: z.string() }),
  z.object({ event: z.literal('stopped'), step: num, checkpoint: z.string() }),
  z.object({
    event: z.literal('done'),
    step: num,
    model_dir: z.string(),
    train_loss: num,
    tokens_seen: num,
    wall_s: num,
    peak_rss_mb: num.optional(),
    peak_gpu_mb: num.nullable().optional(),
    history: z.array(HistoryEntry),
  }),
  z.object({ event: z.literal('error'), kind: z.string(), message: z.string() }),
]);
export type TrainerEvent = z.output<typeof TrainerEventSchema>;

/** The event a line of the trainer's stdout carries, or undefined for any other line. */
export function parseTrainerLine(line: string): TrainerEvent | undefined {
  if (!line.startsWith(EVENT_PREFIX)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(EVENT_PREFIX.length));
  } catch {
    return undefined;
  }
  const parsed = TrainerEventSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
