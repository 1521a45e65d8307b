/** int32 ids handed out once across every process sharing the store. */
export interface IdAllocator {
  next(name: string): Promise<number>;
}
