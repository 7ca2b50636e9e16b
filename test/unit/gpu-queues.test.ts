import { describe, expect, it } from 'vitest';
import { GpuLease } from '../../activities/common/gpu-lease';
import { onRoleQueue } from '../../client/fault-evidence';
import { gpuQueue, hostGpuQueues, isGpuQueueOf } from '../../core/gpu-queues';
import { resolveTrainConfig } from '../../core/train/train-config';
import { hostGpuIds } from '../../infra/host-gpus';

const hostGpus = (env: NodeJS.ProcessEnv): number => hostGpuIds(env).length;

describe('GPU work routed by size class', () => {
  it('a job goes to the smallest class that holds it; a host polls every class it can hold', () => {
    expect(gpuQueue('q', 1)).toBe('q');
    expect(gpuQueue('q', 2)).toBe('q-2gpu');
    expect(gpuQueue('q', 3)).toBe('q-4gpu');
    expect(gpuQueue('q', 8)).toBe('q-8gpu');
    expect(() => gpuQueue('q', 9)).toThrow(/more than one host holds \(8\)/);
    expect(hostGpuQueues('q', 1)).toEqual(['q']);
    expect(hostGpuQueues('q', 3)).toEqual(['q', 'q-2gpu']);
    expect(hostGpuQueues('q', 8)).toEqual(['q', 'q-2gpu', 'q-4gpu', 'q-8gpu']);
    expect(isGpuQueueOf('q', 'q-4gpu')).toBe(true);
    expect(isGpuQueueOf('q', 'q-3gpu')).toBe(false);
    // The fault drill counts work on a size-class queue as its role's.
    expect(onRoleQueue('gpu-train', 'sera-gpu-train-2gpu')).toBe(true);
    expect(onRoleQueue('gpu-serve', 'sera-gpu-serve-8gpu')).toBe(true);
    expect(onRoleQueue('gpu-serve', 'sera-gpu-train')).toBe(false);
  });

  it('a training on more GPUs than one host holds is refused', () => {
    expect(() => resolveTrainConfig({ gpus: 16 })).toThrow(/gpus 16 is more than one host holds \(8\)/);
  });

  it("the host's GPUs: SERA_GPUS, else CUDA_VISIBLE_DEVICES, else at least 1", () => {
    expect(hostGpus({ SERA_GPUS: '4' })).toBe(4);
    expect(() => hostGpus({ SERA_GPUS: 'two' })).toThrow(/SERA_GPUS="two": expected a whole number/);
    expect(hostGpus({ CUDA_VISIBLE_DEVICES: '0,1,3' })).toBe(3);
    expect(hostGpuIds({ CUDA_VISIBLE_DEVICES: '0,1,3' })).toEqual(['0', '1', '3']);
    expect(hostGpuIds({ SERA_GPUS: '2' })).toEqual(['0', '1']);
    // This machine has no nvidia-smi; a host with GPUs and neither variable counts `nvidia-smi -L`.
    expect(hostGpus({ PATH: '/nonexistent' })).toBe(1);
  });
});

describe("a worker's lease on its host's GPUs", () => {
  it('hands out devices of their own, first come first served, and waits when they are taken', async () => {
    const lease = new GpuLease(['4', '5']);
    const order: string[] = [];
    const one = await lease.acquire(1);
    expect(one).toMatchObject({ ids: ['4'], slot: 0 });
    const two = lease.acquire(2).then((leased) => {
      order.push(`two on ${leased.ids.join(',')}`);
      return leased;
    });
    // A later 1-GPU job waits behind the 2-GPU one although a device is free.
    const three = lease.acquire(1).then((leased) => {
      order.push(`three on ${leased.ids.join(',')}`);
      return leased;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    one.release();
    (await two).release();
    (await three).release();
    expect(order).toEqual(['two on 4,5', 'three on 4']);
    await expect(lease.acquire(3)).rejects.toThrow('3 GPUs asked of a host with 2');
  });

  it('two jobs at once get different devices and slots', async () => {
    const lease = new GpuLease(['0', '1', '2', '3']);
    const a = await lease.acquire(2);
    const b = await lease.acquire(1);
    expect([a.ids, a.slot, b.ids, b.slot]).toEqual([['0', '1'], 0, ['2'], 2]);
  });

  it('a cancelled wait leaves the line and lets the next one through', async () => {
    const lease = new GpuLease(['0']);
    const held = await lease.acquire(1);
    const cancel = new AbortController();
    const cancelled = lease.acquire(1, cancel.signal);
    const next = lease.acquire(1);
    cancel.abort(new Error('cancelled'));
    await expect(cancelled).rejects.toThrow('cancelled');
    held.release();
    const leased = await next;
    leased.release();
    leased.release(); // twice is once
    expect((await lease.acquire(1)).ids).toEqual(['0']);
  });
});
