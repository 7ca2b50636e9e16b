import type Docker from 'dockerode';
import { destroySandbox, listManagedContainers } from './containers';

/**
 * Removes containers whose workflow is no longer running (finished, failed, terminated or
 * unknown to the server). Containers of running workflows are left alone.
 */
export async function reapOrphans(
  docker: Docker,
  isWorkflowRunning: (workflowId: string) => Promise<boolean>,
): Promise<{ removed: string[]; kept: number }> {
  const removed: string[] = [];
  let kept = 0;
  for (const container of await listManagedContainers(docker)) {
    if (container.workflowId && (await isWorkflowRunning(container.workflowId))) {
      kept += 1;
      continue;
    }
    await destroySandbox(docker, container.name);
    removed.push(container.name);
  }
  return { removed, kept };
}
