import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs git on the worker's host. Returns stdout, trimmed. */
export async function hostGit(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

export async function tryHostGit(args: string[], cwd?: string): Promise<string | undefined> {
  try {
    return await hostGit(args, cwd);
  } catch {
    return undefined;
  }
}

/** Like hostGit, but stdout exactly as git printed it (file contents keep their first lines). */
export async function hostGitRaw(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
