import type Docker from 'dockerode';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
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

/**
 * For a sweep nobody asked for: keeps a container unless this server knows its workflow and says
 * it has ended, so a worker never removes containers of another server's runs on a shared engine.
 */
export function workflowNotEndedOn(client: Client): (workflowId: string) => Promise<boolean> {
  const running = workflowRunningOn(client);
  return async (workflowId) => {
    try {
      await client.workflow.getHandle(workflowId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return true;
      throw error;
    }
    return running(workflowId);
  };
}

/** Asks the Temporal server whether a workflow still runs; unknown workflows do not. */
export function workflowRunningOn(client: Client): (workflowId: string) => Promise<boolean> {
  return async (workflowId) => {
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}
