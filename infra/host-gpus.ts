import { spawnSync } from 'node:child_process';

/**
 * The GPUs this host gives a gpu-train or gpu-serve worker, as CUDA numbers them. How many:
 * SERA_GPUS when set, else the devices CUDA_VISIBLE_DEVICES names, else the GPUs `nvidia-smi -L`
 * lists, else 1 (a machine without GPUs runs one job at a time on the CPU; SERA_GPUS=2 there runs
 * two-process trainings). Their ids: CUDA_VISIBLE_DEVICES's entries when set,
 * else 0 … n-1. A job's processes get their share of them as their own CUDA_VISIBLE_DEVICES.
 */
export function hostGpuIds(env: NodeJS.ProcessEnv = process.env): string[] {
  const count = countGpus(env);
  const visible = (env.CUDA_VISIBLE_DEVICES ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d && d !== '-1');
  if (visible.length >= count) return visible.slice(0, count);
  return Array.from({ length: count }, (_, i) => String(i));
}

function countGpus(env: NodeJS.ProcessEnv): number {
  const raw = env.SERA_GPUS;
  if (raw !== undefined && raw !== '') {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`SERA_GPUS=${JSON.stringify(raw)}: expected a whole number of at least 1`);
    return value;
  }
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && visible.trim() !== '' && visible.trim() !== '-1')
    return visible.split(',').filter((d) => d.trim() !== '').length;
  const listed = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  const count =
    listed.status === 0 ? listed.stdout.split('\n').filter((l) => l.startsWith('GPU ')).length : 0;
  return Math.max(count, 1);
}
