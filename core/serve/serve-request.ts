import { z } from 'zod';
import { ServedCheckpointSchema } from '../eval/eval-input';
import { RunIdSchema } from '../environment-input';

/** The proxy in front of the engine: where it listens and the hash of the token it asks for. */
export const ProxySettingsSchema = z.strictObject({
  /** The address it binds; default: the gpu-serve worker's serving host (SERA_SERVE_HOST). */
  bind: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65_535).default(8000),
  /** Hex SHA-256 of the bearer token, so the token itself never enters the history. */
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hex SHA-256 of the bearer token'),
  /** How long a request waits for a (re)starting engine before it is answered 503. */
  engineWaitSeconds: z.number().int().min(0).max(600).default(60),
});

/** `serveStudent`: a trained student served for daily use until it is stopped. */
export const ServeStudentInputSchema = z.strictObject({
  /** The run the model belongs to (the workflow id is `sera-serve-<runId>`). */
  runId: RunIdSchema,
  ...ServedCheckpointSchema.shape,
  seed: z.number().int().min(0).default(0),
  proxy: ProxySettingsSchema,
});
export type ServeStudentRequest = z.input<typeof ServeStudentInputSchema>;
export type ServeStudentInput = z.output<typeof ServeStudentInputSchema>;

export function serveWorkflowId(runId: string): string {
  return `sera-serve-${runId}`;
}
