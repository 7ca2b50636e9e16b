import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '../common/activity-context';
import { bashObservation, observation } from '../../core/agent/observation';
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
  action: ToolAction;
  commandTimeoutSeconds: number;
  observationCapBytes: number;
}

export interface ToolResult {
  ok: boolean;
  exitCode?: number;
  ms: number;
  observation: ArtifactRef;
  /** The sandbox's diff against the base commit after this call: what a new container restores. */
  diff: ArtifactRef;
}

const resultFile = (key: string): string => `/tmp/sera-tool-${key.replace(/[^\w.-]/g, '_')}.json`;

/** The agent's tools against a sandbox, on the host's queue. */
export function createAgentToolActivities(deps: { docker: Docker; artifacts: ArtifactStore }) {
  const { docker, artifacts } = deps;

  async function diffOf(container: string, baseCommit: string): Promise<string> {
    const result = await execInSandbox(docker, {
      container,
      command: `git add -A && git diff --cached ${baseCommit}`,
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
    const review =
      diff.trim() === ''
        ? 'There are no changes to submit yet. Call submit again to submit an empty change, or make your change first.'
        : `Here is your change. Review it; call submit again to submit it.\n\n${diff}`;
    return { ok: true, text: observation(review) };
  }

  return {
    async runTool(input: RunToolInput): Promise<ToolResult> {
      const cached = await readSandboxFile(docker, input.container, resultFile(input.key));
      if (cached) return JSON.parse(cached) as ToolResult;
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
      const patch = (await artifacts.get(input.patch.id)).toString('utf8');
      if (patch.trim() === '') return;
      await writeSandboxFile(docker, input.container, '/tmp/sera-restore.patch', patch);
      const result = await execInSandbox(docker, {
        container: input.container,
        command: 'git apply --whitespace=nowarn /tmp/sera-restore.patch',
        timeoutSeconds: 60,
        outputCapBytes: 64 * 1024,
      });
      if (result.exitCode !== 0)
        throw new Error(`could not restore the diff in ${input.container}: ${result.output}`);
    },
  };
}

export type AgentToolActivities = ReturnType<typeof createAgentToolActivities>;
