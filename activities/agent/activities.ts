import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { activityContext, heartbeat } from '../common/activity-context';
import { bashObservation, observation } from '../../core/agent/observation';
import { submitReview, type PromptStyle } from '../../core/agent/prompts';
import type { ToolAction } from '../../core/agent/tool-call';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { CappedOutput } from '../../core/output-cap';
import { diffCommand, splitDiffOutput } from '../../core/diff-command';
import { shouldProbe, withNotes } from '../../core/sandbox-probe';
import { probeLimits } from '../sandbox/probe';
import { harnessDir } from '../sandbox/sandbox-policy-of';
import { execInSandbox } from '../sandbox/exec';
import { readSandboxFile, writeSandboxFile } from '../sandbox/files';
import { runEditor } from './editor-tool';
import { toolResultKey } from './tool-result-key';
import { callerExecution, claimContainer, continuedFromOn } from '../sandbox/execution-owner';

export interface RunToolInput {
  container: string;
  baseCommit: string;
  /**
   * Unique within the rollout (turn and call index). With the workflow run and the action it names
   * the recorded result (tool-result-key.ts): a retried attempt finds it, a reset or rerun does not.
   */
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
  /** The writable space (/repo and /tmp) in use after the call, in kB. */
  writableKb?: number;
}

/** The current activity's attempt; 1 outside Temporal (the benchmark calls tools directly). */
const activityAttempt = (): number => activityContext()?.info.attempt ?? 1;

const resultFile = (dir: string, key: string): string => `${dir}/sera-tool-${key}.json`;

/** The agent's tools against a sandbox, on the host's queue. */
export function createAgentToolActivities(deps: {
  docker: Docker;
  artifacts: ArtifactStore;
  /** Where the attempt number comes from; tests replace it to play a retry. */
  attempt?: () => number;
  /**
   * Tells a run that continued as new (and may use its predecessor's container) from a reset or
   * a rerun (which may not). Without it, a container passed on by continue-as-new is replaced too.
   */
  client?: Client;
}) {
  const { docker, artifacts } = deps;
  const attempt = deps.attempt ?? activityAttempt;
  const continuedFrom = deps.client ? continuedFromOn(deps.client) : undefined;

  /** The sandbox's patch against the base commit, and the writable space in use (core/diff-command.ts). */
  async function diffOf(
    container: string,
    baseCommit: string,
  ): Promise<{ diff: string; writableKb?: number }> {
    const result = await execInSandbox(
      docker,
      {
        container,
        command: diffCommand(await harnessDir(docker, container), baseCommit),
        timeoutSeconds: 120,
        outputCapBytes: 64 * 1024 * 1024,
        asHarness: true,
      },
      heartbeat,
    );
    if (result.exitCode !== 0) throw new Error(`git diff failed in ${container}: ${result.output}`);
    return splitDiffOutput(result.output);
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
        const notes = shouldProbe(result.exitCode, result.output)
          ? (await probeLimits(docker, container, result.exitCode, result.output, heartbeat)).notes
          : [];
        return {
          ok: result.exitCode === 0,
          exitCode: result.exitCode,
          text: withNotes(bashObservation(result.output, result.exitCode), notes),
        };
      } catch (error) {
        // A command that runs too long is the model's doing: it is told, the rollout goes on.
        if (error instanceof ApplicationFailure && error.type === ErrorTypes.CommandTimedOut) {
          const partial = (error.details?.[0] as { output?: string } | undefined)?.output ?? '';
          // A loop that kept writing into a full disk ends here: say which limit it met.
          const { notes } = await probeLimits(docker, container, 124, partial, heartbeat);
          return {
            ok: false,
            exitCode: 124,
            text: withNotes(
              observation(`${partial}\nThe command was killed after ${input.commandTimeoutSeconds} s.`),
              notes,
            ),
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
    const { diff } = await diffOf(container, input.baseCommit);
    return { ok: true, text: observation(submitReview(diff, input.prompts)) };
  }

  return {
    async runTool(input: RunToolInput): Promise<ToolResult> {
      const execution = callerExecution();
      // A container another execution left (a reset, a rerun) holds its files: never run on it.
      if (execution) await claimContainer(docker, input.container, execution, continuedFrom);
      const dir = await harnessDir(docker, input.container);
      const file = resultFile(dir, toolResultKey(execution?.runId ?? 'local', input.key, input.action));
      // Only a retry can find a recorded result (the key names this execution, the turn and the
      // action), so a first attempt does not look: one engine round trip less per tool call.
      if (attempt() > 1) {
        const cached = await readSandboxFile(docker, input.container, file);
        if (cached) return JSON.parse(cached) as ToolResult;
        // An earlier attempt may have died after changing files but before recording its result:
        // put the repository back as it was before the call, so the call runs once, not on top of itself.
        await resetRepository(input.container, input.baseCommit, input.before);
      }
      const started = Date.now();
      const done = await perform(input);
      const { diff, writableKb } = await diffOf(input.container, input.baseCommit);
      const result: ToolResult = {
        ok: done.ok,
        exitCode: done.exitCode,
        ...(writableKb === undefined ? {} : { writableKb }),
        // Everything done in the container: the call itself and the diff taken after it.
        ms: Date.now() - started,
        observation: await artifacts.put(done.text, 'text/plain'),
        diff: await artifacts.put(diff, 'text/x-diff'),
      };
      // Recorded in the container, so a retry of a call that finished does not run it twice.
      await writeSandboxFile(docker, input.container, file, JSON.stringify(result), 'private');
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
    const patchFile = `${await harnessDir(docker, container)}/sera-restore.patch`;
    await writeSandboxFile(docker, container, patchFile, patch);
    const result = await execInSandbox(docker, {
      container,
      command: `git apply --whitespace=nowarn ${patchFile}`,
      timeoutSeconds: 60,
      outputCapBytes: 64 * 1024,
    });
    if (result.exitCode !== 0)
      throw new Error(`could not restore the diff in ${container}: ${result.output}`);
  }
}

export type AgentToolActivities = ReturnType<typeof createAgentToolActivities>;
