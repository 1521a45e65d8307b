/** Counting semaphore with FIFO waiters and an optional bound on the wait. */
export class Semaphore {
  private used = 0;
  private readonly waiters: { grant: () => void }[] = [];

  constructor(private readonly permits: number) {}

  inUse(): number {
    return this.used;
  }

  tryAcquire(): boolean {
    if (this.used >= this.permits) return false;
    this.used++;
    return true;
  }

  /** Resolves true with a permit, or false when `timeoutMs` passed (or `signal` aborted) first. */
  acquire(timeoutMs = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", giveUp);
          resolve(true);
        },
      };
      const giveUp = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        clearTimeout(timer);
        resolve(false);
      };
      if (Number.isFinite(timeoutMs)) timer = setTimeout(giveUp, timeoutMs);
      signal?.addEventListener("abort", giveUp, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    // The permit passes straight to the next waiter, so `used` stays the same.
    if (next) next.grant();
    else this.used--;
  }
}
