/**
 * Inits of the orders pipeline, carts, warehouse and payments. Each store is in memory unless its
 * table variable is set; the queue is in-process unless SNS/SQS is set. Whether the api and the
 * processor share this process is asked of the module graph (`runs`), which is what decides whether
 * the in-process queue and stores can be used. The DynamoDB stores, SNS/SQS and the routes are imported
 * when a module uses them (see platform.ts).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDb } from "../../adapters/dynamodb/client.ts";
import { guardAll, guardedPublisher } from "../../adapters/guard.ts";
import { MemoryCartStore } from "../../adapters/memory/carts.ts";
import { MemoryChargeLedger } from "../../adapters/memory/charges.ts";
import { MemoryIdAllocator } from "../../adapters/memory/counters.ts";
import { MemoryIdempotencyStore } from "../../adapters/memory/idempotency.ts";
import { MemoryInventoryStore } from "../../adapters/memory/inventory.ts";
import { MemoryOrderStore } from "../../adapters/memory/orders.ts";
import { MemoryOutbox } from "../../adapters/memory/outbox.ts";
import { deadLetterCounter, MemoryQueue } from "../../adapters/memory/queue.ts";
import { MemoryCommerceWrites } from "../../adapters/memory/transactions.ts";
import { createGatewayMetrics, paymentPolicy, SimulatedGateway } from "../../adapters/sim/payment-gateway.ts";
import { LONG_POLL_S, ORDER_QUEUE_POLICY } from "../../adapters/sqs/policy.ts";
import type { Config } from "../../config.ts";
import type { CartStore } from "../../domain/carts.ts";
import type { IdAllocator } from "../../domain/counters.ts";
import type { IdempotencyStore } from "../../domain/idempotency.ts";
import type { InventoryStore } from "../../domain/inventory.ts";
import type { OrderStore } from "../../domain/orders.ts";
import type { OutboxStore } from "../../domain/outbox.ts";
import type { ChargeLedger } from "../../domain/payments.ts";
import type { OrderPublisher, QueueConsumer } from "../../domain/queue.ts";
import type { CommerceWrites } from "../../domain/transactions.ts";
import { LambdaProcessor } from "../../lambda/processor.ts";
import type { Resilience } from "../../resilience/index.ts";
import { CartService } from "../../services/carts.ts";
import { CheckoutService } from "../../services/checkout.ts";
import { OrderService, syncTakeoverMs } from "../../services/orders.ts";
import { createRelayMetrics, OutboxRelay } from "../../services/outbox-relay.ts";
import { PaymentService } from "../../services/payments.ts";
import { createProcessorMetrics, OrderWorker, QueueProcessor } from "../../services/processor.ts";
import { WarehouseService } from "../../services/warehouse.ts";
import { Semaphore } from "../../util/semaphore.ts";
import { type ModuleName, resourcesOf, tableOf } from "../deps.ts";
import type { InitContext } from "../graph.ts";
import type { AreaInits, Modules } from "../registry.ts";

export interface OrderQueue {
  kind: "memory" | "aws";
  publisher: OrderPublisher;
  /** Undefined when only SNS_TOPIC_ARN is set: this process publishes but cannot consume. */
  consumer: QueueConsumer | undefined;
  /** The in-process queue, for tests and metrics; undefined on AWS. */
  memory: MemoryQueue | undefined;
}

/**
 * A store module: DynamoDB when its table variable (declared in deps.ts) is set, each call under the
 * "commerce-db" policy (its numbers are the DynamoDB adapter's), else memory.
 */
const store =
  <T extends object>(
    module: ModuleName,
    dynamo: (db: DynamoDBDocumentClient, table: string) => Promise<T>,
    memory: () => T,
  ) =>
  async ({ get }: InitContext<Modules, "config" | "dynamodb" | "resilience">) => {
    const name = get("config")[tableOf(module)];
    const db = get("dynamodb");
    if (name === undefined || db === undefined) return { value: memory() };
    // Loaded already: the dynamodb module imported it to build `db`.
    const { COMMERCE_DB_POLICY } = await import("../../adapters/dynamodb/client.ts");
    return {
      value: guardAll(
        await dynamo(db.doc, name),
        get("resilience").policy("commerce-db", COMMERCE_DB_POLICY),
      ),
    };
  };

interface WriteStores {
  orders: OrderStore;
  inventory?: InventoryStore;
  carts?: CartStore;
  outbox?: OutboxStore;
}

const STORE_MODULE = {
  orders: "orderStore",
  inventory: "inventoryStore",
  carts: "cartStore",
  outbox: "outboxStore",
} as const satisfies Record<keyof WriteStores, ModuleName>;

/**
 * The multi-item writes over `stores` (src/domain/transactions.ts): DynamoDB transactions when their
 * tables are in DynamoDB, one synchronous step when they are in memory. A transaction cannot span the
 * two, so a process with some of these tables set and others not refuses to start, naming them.
 */
async function commerceWrites(
  config: Config,
  db: DynamoDb | undefined,
  resilience: Resilience,
  stores: WriteStores,
): Promise<CommerceWrites> {
  const parts = Object.keys(stores) as (keyof WriteStores)[];
  const tables = parts.map((part) => [part, config[tableOf(STORE_MODULE[part])]] as const);
  const unset = tables.filter(([, name]) => name === undefined).map(([part]) => tableOf(STORE_MODULE[part]));
  if (db !== undefined && unset.length === 0) {
    const [{ DynamoCommerceWrites }, { COMMERCE_DB_POLICY }] = await Promise.all([
      import("../../adapters/dynamodb/transactions.ts"),
      import("../../adapters/dynamodb/client.ts"),
    ]);
    return new DynamoCommerceWrites(
      db.doc,
      { orders: "", ...Object.fromEntries(tables) },
      resilience.policy("commerce-db", COMMERCE_DB_POLICY),
    );
  }
  if (unset.length < tables.length) {
    throw new Error(
      `${parts.map((p) => tableOf(STORE_MODULE[p])).join(", ")} are written in one transaction: set all of them or none (unset: ${unset.join(", ")})`,
    );
  }
  const memory = (value: unknown, kind: new (...args: never[]) => unknown) => {
    if (value !== undefined && !(value instanceof kind)) throw new Error("in-memory stores expected");
    return value;
  };
  return new MemoryCommerceWrites({
    orders: memory(stores.orders, MemoryOrderStore) as MemoryOrderStore,
    inventory: memory(stores.inventory, MemoryInventoryStore) as MemoryInventoryStore | undefined,
    carts: memory(stores.carts, MemoryCartStore) as MemoryCartStore | undefined,
    outbox: memory(stores.outbox, MemoryOutbox) as MemoryOutbox | undefined,
  });
}

export const commerceInits = {
  orderStore: store<OrderStore>(
    "orderStore",
    async (db, t) => new (await import("../../adapters/dynamodb/orders.ts")).DynamoOrderStore(db, t),
    () => new MemoryOrderStore(),
  ),
  cartStore: store<CartStore>(
    "cartStore",
    async (db, t) => new (await import("../../adapters/dynamodb/carts.ts")).DynamoCartStore(db, t),
    () => new MemoryCartStore(),
  ),
  inventoryStore: store<InventoryStore>(
    "inventoryStore",
    async (db, t) => new (await import("../../adapters/dynamodb/inventory.ts")).DynamoInventoryStore(db, t),
    () => new MemoryInventoryStore(),
  ),
  idempotencyStore: store<IdempotencyStore>(
    "idempotencyStore",
    async (db, t) =>
      new (await import("../../adapters/dynamodb/idempotency.ts")).DynamoIdempotencyStore(db, t),
    () => new MemoryIdempotencyStore(),
  ),
  idAllocator: store<IdAllocator>(
    "idAllocator",
    async (db, t) => new (await import("../../adapters/dynamodb/counters.ts")).DynamoIdAllocator(db, t),
    () => new MemoryIdAllocator(),
  ),
  chargeLedger: store<ChargeLedger>(
    "chargeLedger",
    async (db, t) => new (await import("../../adapters/dynamodb/idempotency.ts")).DynamoChargeLedger(db, t),
    () => new MemoryChargeLedger(),
  ),

  outboxStore: store<OutboxStore>(
    "outboxStore",
    async (db, t) => new (await import("../../adapters/dynamodb/outbox.ts")).DynamoOutbox(db, t),
    () => new MemoryOutbox(),
  ),

  outboxRelay: ({ get }) => {
    const config = get("config");
    const relay = new OutboxRelay(
      get("outboxStore"),
      get("orderQueue").publisher,
      { sweepMs: config.OUTBOX_SWEEP_MS, concurrency: 64, batch: 500, drainMs: 5000 },
      createRelayMetrics(get("metrics").registry),
      get("logger").child({ module: "outbox" }),
    );
    return {
      value: relay,
      start: () => relay.start(),
      stop: () => relay.stop(),
      ready: () => relay.status(),
    };
  },

  orderQueue: async ({ get }) => {
    const config = get("config");
    const policy = get("resilience").policy("queue", ORDER_QUEUE_POLICY);
    const sqs = config.SQS_QUEUE_URL
      ? (await import("../../adapters/sqs/queue.ts")).createSqsQueue(config, config.SQS_QUEUE_URL)
      : undefined;
    const sns = config.SNS_TOPIC_ARN
      ? (await import("../../adapters/sns/publisher.ts")).createSnsPublisher(config, config.SNS_TOPIC_ARN)
      : undefined;
    const publisher = sns ?? sqs;
    if (publisher) {
      return {
        value: {
          kind: "aws",
          publisher: guardedPublisher(publisher, policy),
          consumer: sqs,
          memory: undefined,
        },
      };
    }
    const memory = new MemoryQueue(config.QUEUE_MAX_RECEIVES, deadLetterCounter(get("metrics").registry));
    return {
      value: { kind: "memory", publisher: guardedPublisher(memory, policy), consumer: memory, memory },
    };
  },

  paymentGateway: ({ get }) => {
    const simMs = get("config").PAYMENT_SIM_MS;
    const policy = get("resilience").policy("payment", paymentPolicy(simMs));
    const metrics = createGatewayMetrics(get("metrics").registry);
    return { value: new SimulatedGateway(get("chargeLedger"), simMs, policy, metrics) };
  },

  orders: async ({ get, runs }) => {
    const config = get("config");
    const queue = get("orderQueue");
    const deps = {
      store: get("orderStore"),
      writes: await commerceWrites(config, get("dynamodb"), get("resilience"), {
        orders: get("orderStore"),
        outbox: get("outboxStore"),
      }),
      gateway: get("paymentGateway"),
      logger: get("logger"),
      paymentSlots: new Semaphore(config.PAYMENT_CONCURRENCY),
      syncQueueTimeoutMs: config.SYNC_QUEUE_TIMEOUT_MS,
      syncTakeoverMs: syncTakeoverMs(config.PAYMENT_SIM_MS),
      outbox: get("outboxStore"),
    };
    // An in-process queue nobody in this process consumes would accept orders that never complete.
    const intake =
      queue.kind === "memory" && !runs("orderProcessor")
        ? {
            unavailable:
              "no processor consumes orders in this process: run --role api,processor (or all), " +
              "or set SNS_TOPIC_ARN/SQS_QUEUE_URL for a separate processor",
          }
        : { relay: get("outboxRelay") };
    return { value: new OrderService(deps, intake) };
  },

  checkout: async ({ get }) => ({
    value: new CheckoutService({
      carts: get("cartStore"),
      orders: get("orderStore"),
      inventory: get("inventoryStore"),
      writes: await commerceWrites(get("config"), get("dynamodb"), get("resilience"), {
        orders: get("orderStore"),
        inventory: get("inventoryStore"),
        carts: get("cartStore"),
        outbox: get("outboxStore"),
      }),
      ids: get("idAllocator"),
      idempotency: get("idempotencyStore"),
      pipeline: get("orders"),
      logger: get("logger"),
    }),
  }),

  carts: ({ get }) => ({
    value: new CartService({
      carts: get("cartStore"),
      ids: get("idAllocator"),
      products: get("productStore"),
      inventory: get("inventoryStore"),
    }),
  }),

  payments: ({ get }) => ({
    value: new PaymentService({
      carts: get("cartStore"),
      inventory: get("inventoryStore"),
      orders: get("orderStore"),
      gateway: get("paymentGateway"),
      idempotency: get("idempotencyStore"),
    }),
  }),

  warehouse: ({ get }) => ({ value: new WarehouseService(get("inventoryStore")) }),

  ordersApi: async ({ get }) => {
    const { registerOrderRoutes } = await import("../../routes/orders/handlers.ts");
    registerOrderRoutes(get("http"), get("orders"));
    return {
      value: undefined,
      start: () => {
        if (get("orders").acceptsAsync()) return;
        get("logger").warn(
          "POST /orders/async and cart checkout answer 503: no processor in this process and no SNS/SQS",
        );
      },
    };
  },

  commerceApi: async ({ get }) => {
    const [{ registerCartRoutes }, { registerWarehouseRoutes }, { registerPaymentRoutes }] =
      await Promise.all([
        import("../../routes/carts/handlers.ts"),
        import("../../routes/warehouse/handlers.ts"),
        import("../../routes/payments/handlers.ts"),
      ]);
    const http = get("http");
    registerCartRoutes(http, { carts: get("carts"), checkout: get("checkout") });
    registerWarehouseRoutes(http, get("warehouse"));
    registerPaymentRoutes(http, get("payments"), get("carts"));
    return { value: undefined };
  },

  orderWorker: async ({ get }) => ({
    value: new OrderWorker(
      get("orderStore"),
      await commerceWrites(get("config"), get("dynamodb"), get("resilience"), {
        orders: get("orderStore"),
        inventory: get("inventoryStore"),
      }),
      get("paymentGateway"),
    ),
  }),

  orderProcessor: ({ get, runs, fail }) => {
    const config = get("config");
    const queue = get("orderQueue");
    if (!queue.consumer) {
      throw new Error(
        "the processor needs SQS_QUEUE_URL to consume from (SNS_TOPIC_ARN alone only publishes)",
      );
    }
    if (!runs("ordersApi")) {
      // Without the api here, the queue and the stores the processor works on must be shared ones.
      const shared = ["SQS_QUEUE_URL", ...resourcesOf("orderProcessor").tables] as const;
      const missing = shared.filter((name) => !config[name]);
      if (missing.length > 0) {
        throw new Error(
          `the processor runs without the api in this process, so it needs shared state: set ${missing.join(", ")} ` +
            "(or run --role all / --role api,processor to use the in-process queue and stores)",
        );
      }
    }
    const processor = new QueueProcessor(
      queue.consumer,
      get("orderWorker"),
      {
        concurrency: config.PROCESSOR_CONCURRENCY,
        visibilityS: config.QUEUE_VISIBILITY_TIMEOUT_S,
        waitS: LONG_POLL_S,
        drainMs: config.PROCESSOR_DRAIN_MS,
      },
      createProcessorMetrics(get("metrics").registry),
      get("logger").child({ module: "processor" }),
      fail,
    );
    return {
      value: processor,
      start: () => processor.start(),
      stop: () => processor.stop(),
      ready: () => ({ in_flight: processor.inFlight() }),
    };
  },

  lambdaProcessor: ({ get }) => {
    const config = get("config");
    // On Lambda the api is always another process: in-memory stores would complete orders nobody can see.
    const missing = resourcesOf("lambdaProcessor").tables.filter((name) => !config[name]);
    if (missing.length > 0) {
      throw new Error(
        `the processor on Lambda shares orders, stock and charges with the api through DynamoDB: set ${missing.join(", ")}`,
      );
    }
    // The event source mapping receives and deletes; the queue here only sets failed messages' retry times.
    const queue = get("orderQueue");
    const processor = new LambdaProcessor(
      get("orderWorker"),
      {
        concurrency: config.PROCESSOR_CONCURRENCY,
        orderReserveMs: config.LAMBDA_ORDER_RESERVE_MS,
        visibilityS: config.QUEUE_VISIBILITY_TIMEOUT_S,
      },
      get("logger").child({ module: "lambda" }),
      queue.kind === "aws" ? queue.consumer : undefined,
    );
    return { value: processor };
  },
} satisfies AreaInits;
