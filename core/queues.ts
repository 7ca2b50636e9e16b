/** Task queues, one per kind of machine. Workers poll exactly one role's queues. */
export const TaskQueues = {
  orchestration: 'sera-orchestration',
  sandbox: 'sera-sandbox',
  llm: 'sera-llm',
  gpuTrain: 'sera-gpu-train',
  gpuServe: 'sera-gpu-serve',
} as const;

export type WorkerRole = 'orchestration' | 'sandbox' | 'llm' | 'gpu-train' | 'gpu-serve';

export const WORKER_ROLES: readonly WorkerRole[] = [
  'orchestration',
  'sandbox',
  'llm',
  'gpu-train',
  'gpu-serve',
];

/**
 * A container lives on one Docker host, so every activity that touches it must reach that host.
 * Each sandbox worker also polls a queue named after its host (worker-specific task queue).
 */
export function sandboxHostQueue(hostId: string): string {
  return `${TaskQueues.sandbox}@${hostId}`;
}
