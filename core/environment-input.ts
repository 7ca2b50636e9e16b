import { z } from 'zod';
import { EnvironmentRecipeSchema, ImageRecipeSchema, TestTimeoutSecondsSchema } from './environment-recipe';
import { DEFAULT_FILE_MB, DEFAULT_INODES, writableSpaceProblem } from './sandbox-policy';
import { parseSandboxUser } from './sandbox-user';
import { HOST_START_TIMEOUT_SECONDS } from './host-lost';

/**
 * What the environment workflow needs: a repository at a commit and the command that tests it.
 * Validated by the client before a run starts and again by the workflow, so a malformed config
 * fails at once with the field that is wrong instead of deep inside an activity.
 */
/** A run's name: it becomes part of container names and workflow ids. */
export const RunIdSchema = z
  .string()
  .min(1)
  .max(48)
  .regex(
    /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
    'letters, digits, "_", "." and "-" only, starting with a letter or digit',
  );

export { TestTimeoutSecondsSchema };

/**
 * What one sandbox may use and who it runs as. The writable places (/repo, /tmp) are tmpfs, so
 * their sizes count against the memory limit: the memory must hold both and leave room to run.
 * Left out, their sizes follow from the memory (core/sandbox-policy.ts).
 */
export const SandboxLimitsSchema = z
  .strictObject({
    cpus: z.number().positive().max(64).default(1),
    memoryMb: z.number().int().min(128).max(262_144).default(2048),
    pids: z.number().int().min(16).max(65_536).default(512),
    /** The size of /repo: the repository as the image has it, plus what the agent writes. */
    diskMb: z.number().int().min(8).max(262_144).optional(),
    /** The size of /tmp (also HOME and the tools' caches). */
    scratchMb: z.number().int().min(8).max(262_144).optional(),
    /** Files and folders each of /repo and /tmp may hold. */
    inodes: z.number().int().min(1000).max(100_000_000).default(DEFAULT_INODES),
    /** The largest file any one command may write (`ulimit -f`). */
    fileMb: z.number().int().min(1).max(262_144).default(DEFAULT_FILE_MB),
    /** Who runs the commands: "agent" (uid 1000), "root", or "<uid>[:<gid>]". */
    user: z
      .string()
      .default('agent')
      .superRefine((value, ctx) => {
        const parsed = parseSandboxUser(value);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
      }),
  })
  .superRefine((limits, ctx) => {
    const problem = writableSpaceProblem(limits);
    if (problem) ctx.addIssue({ code: 'custom', path: ['memoryMb'], message: problem });
  });

/**
 * Seconds a task may wait on a claimed sandbox host's queue before the host counts as lost (no
 * worker takes it) and the work moves to another host.
 */
export const HostStartTimeoutSchema = z.number().int().min(5).max(3600).default(HOST_START_TIMEOUT_SECONDS);

export const PrepareEnvironmentInputSchema = z.strictObject({
  /** Names the run: containers, artifacts and search attributes carry it. */
  runId: RunIdSchema,
  repository: z.strictObject({
    /** A git repository on the sandbox host (local path) or a URL git can clone. */
    path: z.string().min(1),
    /** Any commit-ish: sha, tag or branch. */
    commit: z.string().min(1),
  }),
  testCommand: z.string().min(1),
  testTimeoutSeconds: TestTimeoutSecondsSchema,
  /** Which log parser counts the tests when the output has no pytest closing line. */
  testRunner: EnvironmentRecipeSchema.shape.testRunner,
  /** How the image is built (the test fields of a recipe are the ones above). */
  recipe: ImageRecipeSchema.optional(),
  outputCapBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  limits: SandboxLimitsSchema.prefault({}),
  /** How soon a silent sandbox activity counts as lost and is retried (on a live worker). */
  heartbeatTimeoutSeconds: z.number().int().min(2).max(600).default(30),
  /**
   * A task that waits this long on the claimed host's queue (no worker takes it) counts as a lost
   * host, and the check moves to another (patch environment-moves-hosts).
   */
  hostStartTimeoutSeconds: HostStartTimeoutSchema,
  /** When true (the default), a failing test command fails the workflow. */
  requireTestsPass: z.boolean().default(true),
});

/** What a caller passes: defaults may be left out. */
export type PrepareEnvironmentRequest = z.input<typeof PrepareEnvironmentInputSchema>;
/** What the workflow works with: every default filled in. */
export type PrepareEnvironmentInput = z.output<typeof PrepareEnvironmentInputSchema>;

/** Turns zod's issues into one line per field, e.g. `repository.commit: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

export function parsePrepareEnvironmentInput(raw: unknown): ParseResult<PrepareEnvironmentInput> {
  const result = PrepareEnvironmentInputSchema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: `invalid environment input: ${describeIssues(result.error)}` };
}

export type SandboxLimits = z.output<typeof SandboxLimitsSchema>;
