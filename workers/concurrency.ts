import type { WorkerRole } from '../core/queues';

/**
 * How many tasks one worker of each role runs at once. A sandbox worker is bound by the Docker
 * host's cores, an LLM worker by the endpoint's rate limit, a GPU worker by its GPUs. Each can be
 * set with SERA_<ROLE>_CONCURRENCY (e.g. SERA_GPU_TRAIN_CONCURRENCY=2).
 */
export const DEFAULT_CONCURRENCY: Record<WorkerRole, number> = {
  orchestration: 100,
  sandbox: 8,
  llm: 32,
  'gpu-train': 1,
  'gpu-serve': 1,
};

export function concurrencyFor(role: WorkerRole, env: NodeJS.ProcessEnv = process.env): number {
  const variable = `SERA_${role.toUpperCase().replace('-', '_')}_CONCURRENCY`;
  const raw = env[variable];
  if (raw === undefined || raw === '') return DEFAULT_CONCURRENCY[role];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${variable}=${JSON.stringify(raw)}: expected a whole number of at least 1`);
  }
  return value;
}
