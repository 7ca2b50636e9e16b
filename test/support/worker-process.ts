// Worker processes, as the drill starts them too (infra/worker-process.ts).
export { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../../infra/worker-process';
