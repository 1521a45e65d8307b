/**
 * The commerce use cases wired on the memory adapters, with no HTTP and no module graph: what the unit
 * tests of checkout, orders, payments, carts and idempotency drive directly.
 */
import { expect } from "bun:test";
import { Registry } from "prom-client";
import { MemoryCartStore } from "../../src/adapters/memory/carts.ts";
import { MemoryChargeLedger } from "../../src/adapters/memory/charges.ts";
import { MemoryIdAllocator } from "../../src/adapters/memory/counters.ts";
import { MemoryIdempotencyStore } from "../../src/adapters/memory/idempotency.ts";
import { MemoryInventoryStore } from "../../src/adapters/memory/inventory.ts";
import { MemoryOrderStore } from "../../src/adapters/memory/orders.ts";
import { MemoryOutbox } from "../../src/adapters/memory/outbox.ts";
import { MemoryProductStore } from "../../src/adapters/memory/products.ts";
import { MemoryQueue } from "../../src/adapters/memory/queue.ts";
import { MemoryCommerceWrites } from "../../src/adapters/memory/transactions.ts";
import {
  createGatewayMetrics,
  paymentPolicy,
  SimulatedGateway,
} from "../../src/adapters/sim/payment-gateway.ts";
import { DomainError } from "../../src/domain/outcomes.ts";
import type { PaymentGateway } from "../../src/domain/payments.ts";
import { demoProduct } from "../../src/domain/products.ts";
import type { OrderPublisher } from "../../src/domain/queue.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { CartService } from "../../src/services/carts.ts";
import { CheckoutService } from "../../src/services/checkout.ts";
import { OrderService } from "../../src/services/orders.ts";
import { createRelayMetrics, OutboxRelay } from "../../src/services/outbox-relay.ts";
import { PaymentService } from "../../src/services/payments.ts";
import { Semaphore } from "../../src/util/semaphore.ts";

export interface CommerceOptions {
  /** What the outbox relay publishes to; default the in-process queue. */
  publisher?: OrderPublisher;
  /** Set: no processor consumes orders here, and the async path and checkout say this. */
  unavailable?: string;
  /** Default: the simulated gateway with no latency over an in-memory ledger. */
  gateway?: PaymentGateway;
  paymentSlots?: number;
  syncQueueTimeoutMs?: number;
  /** How long a sync order is left to its payer before a resend or the processor may finish it. */
  syncTakeoverMs?: number;
  /** The relay's sweep interval and age (OUTBOX_SWEEP_MS); the relay runs only when a test starts it. */
  sweepMs?: number;
}

export function memoryCommerce(options: CommerceOptions = {}) {
  const logger = createLogger("silent");
  const registry = new Registry();
  const resilience = createResilience(undefined, registry, logger);
  const queue = new MemoryQueue(5);
  const ledger = new MemoryChargeLedger();
  const stores = {
    carts: new MemoryCartStore(),
    inventory: new MemoryInventoryStore(),
    orders: new MemoryOrderStore(),
    idempotency: new MemoryIdempotencyStore(),
    ids: new MemoryIdAllocator(),
    products: new MemoryProductStore(),
    outbox: new MemoryOutbox(),
  };
  const writes = new MemoryCommerceWrites(stores);
  const relay = new OutboxRelay(
    stores.outbox,
    options.publisher ?? queue,
    { sweepMs: options.sweepMs ?? 50, concurrency: 8, batch: 100, drainMs: 1000 },
    createRelayMetrics(registry),
    logger,
  );
  const gateway =
    options.gateway ??
    new SimulatedGateway(
      ledger,
      0,
      resilience.policy("payment", paymentPolicy(0)),
      createGatewayMetrics(registry),
    );
  const pipeline = new OrderService(
    {
      store: stores.orders,
      writes,
      gateway,
      logger,
      paymentSlots: new Semaphore(options.paymentSlots ?? 4),
      syncQueueTimeoutMs: options.syncQueueTimeoutMs ?? 1000,
      syncTakeoverMs: options.syncTakeoverMs ?? 1000,
      outbox: stores.outbox,
    },
    options.unavailable === undefined ? { relay } : { unavailable: options.unavailable },
  );
  const cartService = new CartService(stores);
  const checkout = new CheckoutService({ ...stores, writes, pipeline, logger });
  const payments = new PaymentService({ ...stores, gateway });

  /** A product in the catalogue with `available` units at `price` cents. */
  const product = async (id: number, available: number, priceCents = 250) => {
    await stores.products.put(demoProduct(id));
    await stores.inventory.setStock(id, available, priceCents);
    return id;
  };
  /** An open cart holding `lines` ([product id, quantity]). */
  const cart = async (lines: [number, number][] = []) => {
    const id = await cartService.create(7);
    for (const [pid, quantity] of lines) await cartService.addItem(id, pid, quantity);
    return id;
  };
  return {
    ...stores,
    writes,
    relay,
    queue,
    ledger,
    gateway,
    pipeline,
    cartService,
    checkout,
    payments,
    product,
    cart,
  };
}

/** A publisher that fails the first `failures` publishes, then hands messages to `queue`. */
export function flakyPublisher(queue: OrderPublisher, failures: number): OrderPublisher {
  let left = failures;
  return {
    publish: async (body) => {
      if (left-- > 0) throw new Error("queue down");
      return queue.publish(body);
    },
  };
}

/** The DomainError `p` rejects with; fails the test when it resolves or throws anything else. */
export async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}
