/**
 * The host's GPUs, handed out to the activities of one worker process. The worker polls a queue
 * per size class, so a 1-GPU and a 2-GPU training may arrive together on a 2-GPU host: the later
 * one waits here, first come first served, until enough GPUs are free.
 */
export class GpuLease {
  private free: number;
  private readonly waiting: Array<{ gpus: number; grant: () => void }> = [];

  constructor(readonly total: number) {
    this.free = total;
  }

  /**
   * Resolves with a release function once `gpus` are free; `gpus` must not exceed the total. An
   * abort while waiting (the activity was cancelled) leaves the line and rejects with the reason.
   */
  async acquire(gpus: number, signal?: AbortSignal): Promise<() => void> {
    if (gpus > this.total) throw new Error(`${gpus} GPUs asked of a host with ${this.total}`);
    if (this.waiting.length === 0 && this.free >= gpus) {
      this.free -= gpus;
    } else {
      await new Promise<void>((grant, reject) => {
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
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free += gpus;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    while (this.waiting.length && this.free >= this.waiting[0]!.gpus) {
      const next = this.waiting.shift()!;
      this.free -= next.gpus;
      next.grant();
    }
  }
}
