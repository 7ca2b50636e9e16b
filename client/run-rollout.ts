import Docker from 'dockerode';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { defaultSandboxHostId } from '../activities/sandbox/activities';
import { bugInstruction } from '../core/agent/instructions';
import type { ModelSettings } from '../core/agent/rollout-input';
import { RolloutInputSchema, type RolloutRequest } from '../core/agent/rollout-input';
import { describeIssues } from '../core/environment-input';
import { sandboxHostQueue, TaskQueues } from '../core/queues';
import { baseImageTag } from '../infra/base-image';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { exampleRepository } from '../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import { workflowUiUrl } from '../infra/temporal-connection';
import type { RolloutProgress, RolloutResult } from '../workflows/rollout';
import { startLocalStack } from './local-stack';
import { workflowResult } from './workflow-failure';

export interface RolloutCommandOptions {
  repo?: string;
  commit?: string;
  function: string;
  file: string;
  template: number;
  seed: number;
  runId?: string;
  baseUrl?: string;
  model?: string;
  apiKeyEnv?: string;
}

/**
 * One rollout-1 on this machine: local workers, and the offline teacher unless a model endpoint
 * is given. Shows the turn as it goes and ends with the exit status, the patch and the UI address.
 */
export async function runRolloutCommand(options: RolloutCommandOptions): Promise<RolloutResult> {
  const example = exampleRepository();
  const repository = options.repo ?? example.path;
  const commit = options.commit ?? (options.repo ? 'HEAD' : example.commit);
  const teacher = options.baseUrl ? undefined : await startTeacherServer();
  const model: Partial<ModelSettings> & Pick<ModelSettings, 'baseUrl' | 'model'> = {
    baseUrl: options.baseUrl ?? teacher!.url,
    model: options.model ?? TEACHER_MODEL,
    apiKeyEnv: options.apiKeyEnv,
    seed: options.seed,
  };
  const stack = await startLocalStack(['orchestration', 'sandbox', 'llm']);
  try {
    console.error(`preparing the image of ${repository} at ${commit}`);
    const image = await prepareRepoImage(new Docker(), baseImageTag(), { repository, commit });
    const runId =
      options.runId ??
      `rollout-${new Date()
        .toISOString()
        .replace(/[^0-9]/g, '')
        .slice(0, 14)}`;
    const request: RolloutRequest = {
      runId,
      rolloutId: 'r1',
      kind: 'change',
      task: bugInstruction(options.template, options.function, options.file),
      sandbox: {
        hostQueue: sandboxHostQueue(defaultSandboxHostId()),
        image: image.image,
        baseCommit: image.commit,
      },
      model,
    };
    const parsed = RolloutInputSchema.safeParse(request);
    if (!parsed.success) throw new Error(`invalid rollout: ${describeIssues(parsed.error)}`);
    const workflowId = `sera-rollout-${runId}`;
    const handle = await stack.client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [request],
    });
    console.error(
      `started ${workflowId}: ${workflowUiUrl(stack.settings, workflowId, handle.firstExecutionRunId)}`,
    );
    console.error(`task: ${request.task}`);
    let last = '';
    let finished = false;
    const poll = setInterval(() => {
      handle
        .query<RolloutProgress>('progress')
        .then((p) => {
          const line = `${p.status} (${p.promptTokens + p.completionTokens} tokens so far)`;
          if (!finished && line !== last) console.error((last = line));
        })
        .catch(() => undefined);
    }, 300);
    try {
      const result = await workflowResult<RolloutResult>(handle);
      finished = true;
      console.log(
        `exit: ${result.exitStatus}${result.detail ? ` (${result.detail})` : ''} after ${result.turns} turns`,
      );
      if (result.patch) {
        console.log(
          `patch: ${result.patch.filesChanged} file(s), +${result.patch.linesAdded} -${result.patch.linesDeleted}, artifact ${result.patch.id}`,
        );
        console.log((await new LocalArtifactStore(artifactsDir()).get(result.patch.id)).toString('utf8'));
      }
      console.log(`trajectory: artifact ${result.trajectory.id} (${result.trajectory.size} bytes)`);
      console.log(`workflow: ${workflowUiUrl(stack.settings, workflowId, handle.firstExecutionRunId)}`);
      return result;
    } finally {
      finished = true;
      clearInterval(poll);
    }
  } finally {
    await stack.stop();
    await teacher?.close();
  }
}
