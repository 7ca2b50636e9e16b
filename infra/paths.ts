import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Where the project lives and where it keeps its state (dev server database, logs, artifacts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function stateDir(): string {
  return path.resolve(process.env.SERA_STATE_DIR ?? path.join(repoRoot, '.sera'));
}

export function artifactsDir(): string {
  return path.resolve(process.env.SERA_ARTIFACTS_DIR ?? path.join(stateDir(), 'artifacts'));
}

export const temporalCliPath = path.join(repoRoot, '.venv', 'bin', 'temporal');

export const workflowBundlePath = path.join(repoRoot, 'build', 'workflow-bundle.js');
