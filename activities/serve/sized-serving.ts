import { ApplicationFailure } from '@temporalio/common';
import { activityContext } from '../common/activity-context';
import { GpuLease } from '../common/gpu-lease';
import {
  createServeActivities,
  type ServeDeps,
  type ServeModelInput,
  type ServeProgress,
} from './serve-model';

/** How often a serveModel waiting for this host's GPUs heartbeats. */
const WAIT_HEARTBEAT_MS = 5_000;

/**
 * The serve activities of a gpu-serve worker whose host has these GPUs: each engine gets devices
 * of its own from one lease (its CUDA_VISIBLE_DEVICES) and a port of its own, the worker's base
 * port plus the slot of its first device. So several models share a host on separate ports, and
 * an engine that finds too few GPUs free waits for them.
 */
export function createSizedServeActivities(deps: ServeDeps, gpuIds: readonly string[]) {
  const lease = new GpuLease(gpuIds);
  const slots = new Map<number, ReturnType<typeof createServeActivities>>();
  const atSlot = (slot: number) => {
    let activities = slots.get(slot);
    if (!activities) {
      activities = createServeActivities({ ...deps, port: deps.port + slot });
      slots.set(slot, activities);
    }
    return activities;
  };

  return {
    async serveModel(input: ServeModelInput): Promise<never> {
      const gpus = input.gpus ?? 1;
      if (gpus > lease.total)
        throw ApplicationFailure.create({
          type: 'TooFewGpus',
          message: `this gpu-serve worker has ${lease.total} GPU(s) (SERA_GPUS); the engine needs ${gpus}`,
        });
      const ctx = activityContext();
      let leased = lease.tryAcquire(gpus);
      if (!leased) {
        ctx?.log.info(`waiting for ${gpus} of this host's ${lease.total} GPU(s), taken by other engines`);
        const waiting: ServeProgress = { phase: 'waiting', baseUrl: '', restarts: 0 }; // no engine yet
        const beat = (): void => ctx?.heartbeat(waiting);
        const timer = setInterval(beat, WAIT_HEARTBEAT_MS);
        beat();
        try {
          leased = await lease.acquire(gpus, ctx?.cancellationSignal);
        } finally {
          clearInterval(timer);
        }
      }
      try {
        return await atSlot(leased.slot).serveModel(input, leased.ids);
      } finally {
        leased.release();
      }
    },
  };
}
