import { Counter, type Registry } from "prom-client";
import {
  amountMismatch,
  type ChargeLedger,
  type ChargeRecord,
  type ChargeRequest,
  type ChargeResult,
  declineReason,
  type PaymentGateway,
} from "../../domain/payments.ts";
import { type DependencyPolicy, isNetworkError, type PolicyOptions } from "../../resilience/policy.ts";
import { abortableSleep } from "../../util/time.ts";

/** The "payment" policy: each attempt may take the simulated latency plus slack; faults are retried. */
export const paymentPolicy = (latencyMs: number): PolicyOptions => ({
  timeoutMs: latencyMs + 2000,
  maxAttempts: 3,
  initialDelayMs: 50,
  maxDelayMs: 1000,
  breakAfter: 5,
  halfOpenAfterMs: 5000,
  isTransient: isNetworkError,
});

export interface GatewayMetrics {
  charges: Counter<"outcome">;
  replays: Counter;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    charges: new Counter({
      name: "payments_total",
      help: "Charges decided by the payment gateway (replays of a key excluded), by outcome: approved, declined, amount_mismatch",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    replays: new Counter({
      name: "payments_replayed_total",
      help: "Charges answered from the ledger because their idempotency key was already charged",
      registers: [registry],
    }),
  };
}

/**
 * The payment gateway the seeds simulated with a sleep, made honest: each attempt runs under the
 * "payment" resilience policy (faults and timeouts are retried and feed the breaker; a decline is a
 * result and is neither), and its ledger keeps one approved charge per idempotency key, bound to its
 * amount, as a real gateway's idempotency keys are (Stripe refuses a key reused with other parameters):
 * the key again with another amount is refused, not replayed as if the larger sum was paid. Declines are not recorded: they are decided again (deterministically),
 * and another card may be tried under the same key — except the decline of a charge that settles its
 * order (ChargeRequest.settlesOrder), which closes the key.
 */
export class SimulatedGateway implements PaymentGateway {
  constructor(
    private readonly ledger: ChargeLedger,
    private readonly latencyMs: number,
    private readonly policy: DependencyPolicy,
    private readonly metrics: GatewayMetrics,
  ) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const existing = await this.ledger.get(request.idempotencyKey);
    if (existing) return this.replay(request, existing);
    const result = await this.policy.execute(async (signal): Promise<ChargeResult> => {
      if (this.latencyMs > 0) await abortableSleep(this.latencyMs, signal);
      const reason = declineReason(request.card);
      return reason === undefined
        ? { approved: true, transaction_id: `txn_${crypto.randomUUID()}` }
        : { approved: false, reason };
    });
    if (!result.approved) {
      this.metrics.charges.inc({ outcome: "declined" });
      if (!request.settlesOrder) return result;
      return this.keep(request, { ...result, final: true });
    }
    const kept = await this.keep(request, result);
    if (kept === result) this.metrics.charges.inc({ outcome: "approved" });
    return kept;
  }

  /** The result that holds for the key: `result` if it was first, else the one already kept (a replay). */
  private async keep(request: ChargeRequest, result: ChargeResult): Promise<ChargeResult> {
    const kept = await this.ledger.record({
      key: request.idempotencyKey,
      amount_cents: request.amountCents,
      result,
      at: new Date().toISOString(),
    });
    return kept.result === result ? result : this.replay(request, kept);
  }

  /** The kept decision for a key charged before, only for the amount it was charged. */
  private replay(request: ChargeRequest, kept: ChargeRecord): ChargeResult {
    if (kept.amount_cents !== request.amountCents) {
      this.metrics.charges.inc({ outcome: "amount_mismatch" });
      return amountMismatch(request.idempotencyKey, kept.amount_cents, request.amountCents);
    }
    this.metrics.replays.inc();
    return kept.result;
  }
}
