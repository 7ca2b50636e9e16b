/** GPUs a lease holds: the devices' ids as CUDA numbers them, and a way to give them back. */
export interface LeasedGpus {
  ids: string[];
  /** Position of the first leased device among the host's: a stable slot number (ports, folders). */
  slot: number;
  release: () => void;
}

/**
 * The host's GPUs, handed out to the activities of one worker process. The worker polls a queue
 * per size class, so a 1-GPU and a 2-GPU job may arrive together on a 2-GPU host: the later one
 * waits here, first come first served, until enough devices are free, and each job gets devices
 * of its own (CUDA_VISIBLE_DEVICES for its processes).
 */
export class GpuLease {
  private readonly free: boolean[];
  private readonly waiting: Array<{ gpus: number; grant: (leased: LeasedGpus) => void }> = [];

  constructor(readonly ids: readonly string[]) {
    if (ids.length === 0) throw new Error('a GPU lease needs at least one device');
    this.free = ids.map(() => true);
  }

  get total(): number {
    return this.ids.length;
  }

  /** The devices at once when they are free and no one waits before us; undefined otherwise. */
  tryAcquire(gpus: number): LeasedGpus | undefined {
    return this.waiting.length === 0 && gpus <= this.total ? this.take(gpus) : undefined;
  }

  /**
   * Resolves once `gpus` devices are free; `gpus` must not exceed the total. An abort while
   * waiting (the activity was cancelled) leaves the line and rejects with the reason.
   */
  async acquire(gpus: number, signal?: AbortSignal): Promise<LeasedGpus> {
    if (gpus > this.total) throw new Error(`${gpus} GPUs asked of a host with ${this.total}`);
    const now = this.tryAcquire(gpus);
    if (now) return now;
    return new Promise<LeasedGpus>((grant, reject) => {
      const entry = { gpus, grant };
      this.waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const at = this.waiting.indexOf(entry);
        if (at < 0) return; // already granted: the caller releases it
        this.waiting.splice(at, 1);
        this.grantWaiting();
        reject(signal.reason);
      });
    });
  }

  private take(gpus: number): LeasedGpus | undefined {
    const positions = this.free.flatMap((isFree, at) => (isFree ? [at] : [])).slice(0, gpus);
    if (positions.length < gpus) return undefined;
    for (const at of positions) this.free[at] = false;
    let released = false;
    return {
      ids: positions.map((at) => this.ids[at]!),
      slot: positions[0]!,
      release: () => {
        if (released) return;
        released = true;
        for (const at of positions) this.free[at] = true;
        this.grantWaiting();
      },
    };
  }

  private grantWaiting(): void {
    while (this.waiting.length) {
      const leased = this.take(this.waiting[0]!.gpus);
      if (!leased) return;
      this.waiting.shift()!.grant(leased);
    }
  }
}
