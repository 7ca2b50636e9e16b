/**
 * GPU work is routed by size: a training or an engine that needs n GPUs goes to the task queue of
 * the smallest size class that holds n, and a worker polls the queues of every class its host can
 * hold. So a job waits for a host big enough instead of failing on one that is too small.
 */
export const GPU_SIZE_CLASSES = [1, 2, 4, 8] as const;
export const MAX_GPUS_PER_HOST: number = GPU_SIZE_CLASSES[GPU_SIZE_CLASSES.length - 1]!;

/** The smallest size class that holds n GPUs; undefined beyond one host's largest. */
export function gpuSizeClass(gpus: number): number | undefined {
  return GPU_SIZE_CLASSES.find((size) => size >= gpus);
}

/** The queue of the size class for n GPUs: the role's own queue for one GPU, `<base>-<k>gpu` above. */
export function gpuQueue(base: string, gpus: number): string {
  const size = gpuSizeClass(gpus);
  if (size === undefined) throw new Error(`${gpus} GPUs is more than one host holds (${MAX_GPUS_PER_HOST})`);
  return size === 1 ? base : `${base}-${size}gpu`;
}

/** Every queue a host with this many GPUs takes work from. */
export function hostGpuQueues(base: string, hostGpus: number): string[] {
  return GPU_SIZE_CLASSES.filter((size) => size <= hostGpus).map((size) => gpuQueue(base, size));
}

/** Whether a queue is one of the role's sized queues (its own included). */
export function isGpuQueueOf(base: string, queue: string): boolean {
  return GPU_SIZE_CLASSES.some((size) => gpuQueue(base, size) === queue);
}
