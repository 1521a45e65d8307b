import type { OutboxRecord, OutboxStore } from "../../domain/outbox.ts";
import { copy } from "../../util/copy.ts";

export class MemoryOutbox implements OutboxStore {
  private readonly records = new Map<string, OutboxRecord>();

  async pending(limit: number): Promise<OutboxRecord[]> {
    return [...this.records.values()].slice(0, limit).map(copy);
  }

  async markSent(id: string): Promise<void> {
    this.records.delete(id);
  }

  /** For MemoryCommerceWrites only: written in the same synchronous step as the change it announces. */
  insert(record: OutboxRecord): void {
    this.records.set(record.id, copy(record));
  }
}
