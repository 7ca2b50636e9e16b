import type { ModelSettings } from '../../core/agent/rollout-input';
import type { ServerReady } from '../../core/serve/engine-command';
import { activityContext } from '../common/activity-context';

/** What the serving workflow's `progress` query tells about its engine (evaluateModel, serveStudent). */
interface ServingProgress {
  server?: ServerReady;
}

/**
 * A model an evaluation serves may move: its engine restarts on another gpu-serve worker, with
 * another URL, while solves are running. Before each request the URL is asked of the serving
 * workflow (`servedBy`), so the request reaches the engine where it is now. When the workflow
 * cannot answer (it is busy closing, or the call runs outside Temporal) the URL given is used.
 */
export async function followServed(model: ModelSettings): Promise<ModelSettings> {
  const client = model.servedBy ? activityContext()?.client : undefined;
  if (!model.servedBy || !client) return model;
  try {
    const progress = await client.workflow.getHandle(model.servedBy).query<ServingProgress>('progress');
    const now = progress.server?.baseUrl;
    return now && now !== model.baseUrl ? { ...model, baseUrl: now } : model;
  } catch {
    return model;
  }
}
