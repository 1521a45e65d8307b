/** A failed ConditionExpression: an answer (the item is not in the expected state), not an outage. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === "ConditionalCheckFailedException";
}
