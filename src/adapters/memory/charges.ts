import type { ChargeLedger, ChargeRecord } from "../../domain/payments.ts";

export class MemoryChargeLedger implements ChargeLedger {
  readonly records = new Map<string, ChargeRecord>();

  async get(key: string): Promise<ChargeRecord | undefined> {
    return this.records.get(key);
  }

  async record(record: ChargeRecord): Promise<ChargeRecord> {
    const existing = this.records.get(record.key);
    if (existing) return existing;
    this.records.set(record.key, record);
    return record;
  }
}
