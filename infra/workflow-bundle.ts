import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot, workflowBundlePath } from './paths';

/**
 * The orchestration worker runs workflows from a prebuilt bundle, so what runs is exactly what
 * was built, and a worker starts in a second instead of bundling for ten. The bundle records a
 * hash of its sources (workflows/, core/ and the lock file); a worker refuses a stale bundle.
 */
const SOURCE_DIRS = ['workflows', 'core'];
const hashFile = `${workflowBundlePath}.sha256`;

function sourceFiles(): string[] {
  const files: string[] = [path.join(repoRoot, 'package-lock.json')];
  for (const dir of SOURCE_DIRS) {
    const walk = (current: string): void => {
      for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) =>
        a.name.localeCompare(b.name),
      )) {
        const full = path.join(current, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts')) files.push(full);
      }
    };
    walk(path.join(repoRoot, dir));
  }
  return files;
}

export function workflowSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(path.relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export function bundleIsCurrent(): boolean {
  return (
    existsSync(workflowBundlePath) &&
    existsSync(hashFile) &&
    readFileSync(hashFile, 'utf8') === workflowSourceHash()
  );
}

/** Builds the bundle when its sources changed; returns whether it built. */
export async function ensureWorkflowBundle(): Promise<boolean> {
  if (bundleIsCurrent()) return false;
  const hash = workflowSourceHash();
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(repoRoot, 'workflows', 'index.ts'),
    logger: quietLogger,
  });
  mkdirSync(path.dirname(workflowBundlePath), { recursive: true });
  writeFileSync(workflowBundlePath, code);
  writeFileSync(hashFile, hash);
  return true;
}

/** The worker's loader of the bundle: a clear error instead of running stale workflow code. */
export function prebuiltBundle(): { codePath: string } {
  if (!existsSync(workflowBundlePath)) {
    throw new Error(`no workflow bundle at ${workflowBundlePath}: run "npm run build:workflows"`);
  }
  if (!bundleIsCurrent()) {
    throw new Error('the workflow bundle is older than workflows/ or core/: run "npm run build:workflows"');
  }
  return { codePath: workflowBundlePath };
}

const quiet = (): void => undefined;
const quietLogger = {
  log: quiet,
  trace: quiet,
  debug: quiet,
  info: quiet,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
