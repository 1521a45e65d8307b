import type { IdAllocator } from "../../domain/counters.ts";

export class MemoryIdAllocator implements IdAllocator {
  private readonly counters = new Map<string, number>();

  async next(name: string): Promise<number> {
    const n = (this.counters.get(name) ?? 0) + 1;
    this.counters.set(name, n);
    return n;
  }
}
