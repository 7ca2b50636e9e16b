import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { activityContext, heartbeat } from '../common/activity-context';
import { bashObservation, observation } from '../../core/agent/observation';
import { submitReview, type PromptStyle } from '../../core/agent/prompts';
import type { ToolAction } from '../../core/agent/tool-call';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { CappedOutput } from '../../core/output-cap';
import { execInSandbox } from '../sandbox/exec';
import { readSandboxFile, writeSandboxFile } from '../sandbox/files';
import { runEditor } from './editor-tool';

export interface RunToolInput {
  container: string;
  baseCommit: string;
  /** Unique within the rollout (turn and call index): a retry finds the result of a finished run. */
  key: string;
  /** The sandbox's diff before this call (absent: the base commit); a retry resets the repository to it. */
  before?: ArtifactRef;
  action: ToolAction;
  commandTimeoutSeconds: number;
  observationCapBytes: number;
  /** The words of the submit review: the authors' (default) or the spec's (core/agent/prompts.ts). */
  prompts?: PromptStyle;
}

export interface ToolResult {
  ok: boolean;
  exitCode?: number;
  ms: number;
  observation: ArtifactRef;
  /** The sandbox's diff against the base commit after this call: what a new container restores. */
  diff: ArtifactRef;
}

/** The current activity's attempt; 1 outside Temporal (the benchmark calls tools directly). */
const activityAttempt = (): number => activityContext()?.info.attempt ?? 1;

const resultFile = (key: string): string => `/tmp/sera-tool-${key.replace(/[^\w.-]/g, '_')}.json`;

/** The agent's tools against a sandbox, on the host's queue. */
export function createAgentToolActivities(deps: {
  docker: Docker;
  artifacts: ArtifactStore;
  /** Where the attempt number comes from; tests replace it to play a retry. */
  attempt?: () => number;
}) {
  const { docker, artifacts } = deps;
  const attempt = deps.attempt ?? activityAttempt;

  /**
   * `git add -A && git diff --cached` against the base commit (untracked files included), staged
   * in a copy of the index: the repository's own index stays as the agent left it, so the
   * review's `git checkout -- <file>` still puts a file back as it was.
   */
  async function diffOf(container: string, baseCommit: string): Promise<string> {
    const result = await execInSandbox(docker, {
      container,
      command: [
        'index=/tmp/sera-diff-index-$$',
        'cp "$(git rev-parse --git-path index)" "$index" 2>/dev/null',
        `GIT_INDEX_FILE="$index" git add -A && GIT_INDEX_FILE="$index" git diff --cached ${baseCommit}`,
        'status=$?',
        'rm -f "$index"',
        'exit $status',
      ].join('; '),
      timeoutSeconds: 120,
      outputCapBytes: 64 * 1024 * 1024,
    });
    if (result.exitCode !== 0) throw new Error(`git diff failed in ${container}: ${result.output}`);
    return result.output;
  }

  async function perform(input: RunToolInput): Promise<{ ok: boolean; exitCode?: number; text: string }> {
    const { action, container } = input;
    if (action.tool === 'bash') {
      try {
        const result = await execInSandbox(
          docker,
          {
            container,
            command: action.command,
            timeoutSeconds: input.commandTimeoutSeconds,
            outputCapBytes: input.observationCapBytes,
          },
          heartbeat,
        );
        return {
          ok: result.exitCode === 0,
          exitCode: result.exitCode,
          text: bashObservation(result.output, result.exitCode),
        };
      } catch (error) {
        // A command that runs too long is the model's doing: it is told, the rollout goes on.
        if (error instanceof ApplicationFailure && error.type === ErrorTypes.CommandTimedOut) {
          const partial = (error.details?.[0] as { output?: string } | undefined)?.output ?? '';
          return {
            ok: false,
            exitCode: 124,
            text: observation(`${partial}\nThe command was killed after ${input.commandTimeoutSeconds} s.`),
          };
        }
        throw error;
      }
    }
    if (action.tool === 'str_replace_editor') {
      const outcome = await runEditor(docker, container, action);
      const capped = new CappedOutput(input.observationCapBytes);
      capped.append(Buffer.from(outcome.message));
      return { ok: outcome.ok, text: observation(capped.text()) };
    }
    const diff = await diffOf(container, input.baseCommit);
    return { ok: true, text: observation(submitReview(diff, input.prompts)) };
  }

  return {
    async runTool(input: RunToolInput): Promise<ToolResult> {
      const cached = await readSandboxFile(docker, input.container, resultFile(input.key));
      if (cached) return JSON.parse(cached) as ToolResult;
      // An earlier attempt may have died after changing files but before recording its result:
      // put the repository back as it was before the call, so the call runs once, not on top of itself.
      if (attempt() > 1) await resetRepository(input.container, input.baseCommit, input.before);
      const started = Date.now();
      const done = await perform(input);
      const diff = await diffOf(input.container, input.baseCommit);
      const result: ToolResult = {
        ok: done.ok,
        exitCode: done.exitCode,
        // Everything done in the container: the call itself and the diff taken after it.
        ms: Date.now() - started,
        observation: await artifacts.put(done.text, 'text/plain'),
        diff: await artifacts.put(diff, 'text/x-diff'),
      };
      // Recorded in the container, so a retry of a call that finished does not run it twice.
      await writeSandboxFile(docker, input.container, resultFile(input.key), JSON.stringify(result));
      return result;
    },

    /** Puts a recorded diff back into a fresh container (after the old one died). */
    async applyPatch(input: { container: string; patch: ArtifactRef }): Promise<void> {
      await applyDiff(input.container, input.patch);
    },
  };

  async function resetRepository(container: string, baseCommit: string, diff?: ArtifactRef): Promise<void> {
    const result = await execInSandbox(docker, {
      container,
      command: `git reset -q --hard ${baseCommit} && git clean -fdq`,
      timeoutSeconds: 120,
      outputCapBytes: 64 * 1024,
    });
    if (result.exitCode !== 0) throw new Error(`could not reset ${container}: ${result.output}`);
    if (diff) await applyDiff(container, diff);
  }

  async function applyDiff(container: string, ref: ArtifactRef): Promise<void> {
    const patch = (await artifacts.get(ref.id)).toString('utf8');
    if (patch.trim() === '') return;
    await writeSandboxFile(docker, container, '/tmp/sera-restore.patch', patch);
    const result = await execInSandbox(docker, {
      container,
      command: 'git apply --whitespace=nowarn /tmp/sera-restore.patch',
      timeoutSeconds: 60,
      outputCapBytes: 64 * 1024,
    });
    if (result.exitCode !== 0)
      throw new Error(`could not restore the diff in ${container}: ${result.output}`);
  }
}

export type AgentToolActivities = ReturnType<typeof createAgentToolActivities>;
