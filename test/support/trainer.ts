import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { getFolder } from '../../activities/train/folder-artifacts';
import type { TrainProgress } from '../../activities/train/train-student';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir, trainerDir, trainerPython } from '../../infra/paths';

/** Runs one of trainer/'s helper scripts and parses the JSON it prints. */
export function trainerTool<T>(script: string, args: string[]): T {
  const result = spawnSync(trainerPython(), [path.join(trainerDir, script), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}): ${result.stderr}`);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** A stored folder (model or checkpoint) written out to a fresh temporary folder. */
export async function folderOnDisk(manifest: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sera-folder-'));
  await getFolder(new LocalArtifactStore(artifactsDir()), manifest, dir);
  return dir;
}

/** The training activity's latest heartbeat, as the server holds it (what the UI shows). */
export async function trainProgress(client: Client, workflowId: string): Promise<TrainProgress | undefined> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const pending = description.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload?.data) return undefined;
  return JSON.parse(Buffer.from(payload.data).toString('utf8')) as TrainProgress;
}

/** Command lines of running trainer processes that mention `needle`. */
export function trainerProcesses(needle: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes('sft_train.py') && line.includes(needle));
}
