import os from 'node:os';
import type { WorkerRole } from '../../core/queues';

export interface WorkerDescription {
  role: WorkerRole;
  host: string;
  pid: number;
  node: string;
  cpus: number;
}

/**
 * Every role answers this, so a role whose real activities have not landed yet still has a
 * worker, a queue and a way to check that something polls it (`sera-flow ping <role>`).
 */
export function createDescribeWorkerActivity(role: WorkerRole) {
  return {
    async describeWorker(): Promise<WorkerDescription> {
      return { role, host: os.hostname(), pid: process.pid, node: process.version, cpus: os.cpus().length };
    },
  };
}

export type DescribeWorkerActivity = ReturnType<typeof createDescribeWorkerActivity>;
