// `npm run build:workflows`: rebuilds build/workflow-bundle.js when its sources changed.
import { ensureWorkflowBundle } from './workflow-bundle';
import { workflowBundlePath } from './paths';

const built = await ensureWorkflowBundle();
if (built) console.error(`[setup] built ${workflowBundlePath}`);
