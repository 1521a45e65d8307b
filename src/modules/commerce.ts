/**
 * The modules of the orders pipeline and of carts, warehouse and payments (issues 4 and 5). Each store
 * is in memory unless its table variable is set; the queue is in-process unless SNS/SQS is set.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Counter } from "prom-client";
import { awsClientConfig } from "../adapters/aws.ts";
import { DynamoCartStore } from "../adapters/dynamodb/carts.ts";
import { DynamoIdAllocator } from "../adapters/dynamodb/counters.ts";
import { DynamoChargeLedger, DynamoIdempotencyStore } from "../adapters/dynamodb/idempotency.ts";
import { DynamoInventoryStore } from "../adapters/dynamodb/inventory.ts";
import { DynamoOrderStore } from "../adapters/dynamodb/orders.ts";
import { guardAll, isAwsTransient } from "../adapters/guard.ts";
import { MemoryCartStore } from "../adapters/memory/carts.ts";
import { MemoryChargeLedger } from "../adapters/memory/charges.ts";
import { MemoryIdAllocator } from "../adapters/memory/counters.ts";
import { MemoryIdempotencyStore } from "../adapters/memory/idempotency.ts";
import { MemoryInventoryStore } from "../adapters/memory/inventory.ts";
import { MemoryOrderStore } from "../adapters/memory/orders.ts";
import { MemoryQueue } from "../adapters/memory/queue.ts";
import { createGatewayMetrics, SimulatedGateway } from "../adapters/sim/payment-gateway.ts";
import { SnsPublisher } from "../adapters/sns/publisher.ts";
import { SqsQueue } from "../adapters/sqs/queue.ts";
import type { CartStore } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import type { OrderStore } from "../domain/orders.ts";
import type { ChargeLedger, PaymentGateway } from "../domain/payments.ts";
import type { OrderPublisher, QueueConsumer } from "../domain/queue.ts";
import type { Resilience } from "../resilience/index.ts";
import { isNetworkError } from "../resilience/policy.ts";
import { registerCartRoutes } from "../routes/carts/handlers.ts";
import { registerOrderRoutes } from "../routes/orders/handlers.ts";
import { registerPaymentRoutes } from "../routes/payments/handlers.ts";
import { registerWarehouseRoutes } from "../routes/warehouse/handlers.ts";
import { CartService } from "../services/carts.ts";
import { CheckoutService } from "../services/checkout.ts";
import { guardedPublisher, OrderService } from "../services/orders.ts";
import { PaymentService } from "../services/payments.ts";
import { createProcessorMetrics, OrderWorker, QueueProcessor } from "../services/processor.ts";
import { WarehouseService } from "../services/warehouse.ts";
import { Semaphore } from "../util/semaphore.ts";
import type { ModuleTable } from "./graph.ts";
import type { Modules } from "./registry.ts";

export interface OrderQueue {
  kind: "memory" | "aws";
  publisher: OrderPublisher;
  /** Undefined when only SNS_TOPIC_ARN is set: this process publishes but cannot consume. */
  consumer: QueueConsumer | undefined;
  /** The in-process queue, for tests and metrics; undefined on AWS. */
  memory: MemoryQueue | undefined;
  /** Which ends of the pipeline run in this process: the in-process queue needs both. */
  local: { api: boolean; processor: boolean };
}

export interface CommerceModules {
  orderStore: OrderStore;
  cartStore: CartStore;
  inventoryStore: InventoryStore;
  idempotencyStore: IdempotencyStore;
  idAllocator: IdAllocator;
  chargeLedger: ChargeLedger;
  orderQueue: OrderQueue;
  paymentGateway: PaymentGateway;
  orders: OrderService;
  checkout: CheckoutService;
  carts: CartService;
  payments: PaymentService;
  warehouse: WarehouseService;
  ordersApi: undefined;
  commerceApi: undefined;
  orderProcessor: QueueProcessor;
}

type CommerceTable = Pick<ModuleTable<Modules>, keyof CommerceModules>;

/** What a processor in its own process needs so that it shares state with the api. */
const SHARED_STATE = ["SQS_QUEUE_URL", "ORDERS_TABLE", "INVENTORY_TABLE", "IDEMPOTENCY_TABLE"] as const;

const TABLES = [
  "ORDERS_TABLE",
  "CARTS_TABLE",
  "INVENTORY_TABLE",
  "IDEMPOTENCY_TABLE",
  "COUNTERS_TABLE",
] as const;

/**
 * A store module: DynamoDB when `table` is set, each call under the "commerce-db" policy (timeout and
 * breaker; no retries here, since a retried non-keyed write could apply twice — the SDK already
 * retries throttling), else memory.
 */
function store<T extends object>(
  table: (typeof TABLES)[number],
  dynamo: (db: DynamoDBDocumentClient, table: string) => T,
  memory: () => T,
) {
  return {
    deps: ["config", "dynamodb", "resilience"] as const,
    init: ({ get }: { get: <K extends "config" | "dynamodb" | "resilience">(k: K) => Modules[K] }) => {
      const name = get("config")[table];
      const db = get("dynamodb");
      if (name === undefined || db === undefined) return { value: memory() };
      return { value: guardAll(dynamo(db.doc, name), dbPolicy(get("resilience"))) };
    },
  };
}

const dbPolicy = (resilience: Resilience) =>
  resilience.policy("commerce-db", {
    timeoutMs: 3000,
    maxAttempts: 1,
    initialDelayMs: 0,
    maxDelayMs: 0,
    breakAfter: 10,
    halfOpenAfterMs: 2000,
    isTransient: (err) => isNetworkError(err) || isAwsTransient(err),
  });

export function commerceModules(): CommerceTable {
  return {
    orderStore: store<OrderStore>(
      "ORDERS_TABLE",
      (db, t) => new DynamoOrderStore(db, t),
      () => new MemoryOrderStore(),
    ),
    cartStore: store<CartStore>(
      "CARTS_TABLE",
      (db, t) => new DynamoCartStore(db, t),
      () => new MemoryCartStore(),
    ),
    inventoryStore: store<InventoryStore>(
      "INVENTORY_TABLE",
      (db, t) => new DynamoInventoryStore(db, t),
      () => new MemoryInventoryStore(),
    ),
    idempotencyStore: store<IdempotencyStore>(
      "IDEMPOTENCY_TABLE",
      (db, t) => new DynamoIdempotencyStore(db, t),
      () => new MemoryIdempotencyStore(),
    ),
    idAllocator: store<IdAllocator>(
      "COUNTERS_TABLE",
      (db, t) => new DynamoIdAllocator(db, t),
      () => new MemoryIdAllocator(),
    ),
    chargeLedger: store<ChargeLedger>(
      "IDEMPOTENCY_TABLE",
      (db, t) => new DynamoChargeLedger(db, t),
      () => new MemoryChargeLedger(),
    ),
    orderQueue: {
      deps: ["config", "metrics", "resilience"],
      init: ({ get }) => {
        const config = get("config");
        const policy = get("resilience").policy("queue", {
          timeoutMs: 5000,
          maxAttempts: 3,
          initialDelayMs: 20,
          maxDelayMs: 500,
          breakAfter: 5,
          halfOpenAfterMs: 5000,
          isTransient: (err) => isNetworkError(err) || isAwsTransient(err),
        });
        if (config.SQS_QUEUE_URL || config.SNS_TOPIC_ARN) {
          const sqs = config.SQS_QUEUE_URL
            ? new SqsQueue(new SQSClient(awsClientConfig(config, "SQS")), config.SQS_QUEUE_URL)
            : undefined;
          const publisher = config.SNS_TOPIC_ARN
            ? new SnsPublisher(new SNSClient(awsClientConfig(config, "SNS")), config.SNS_TOPIC_ARN)
            : (sqs as SqsQueue);
          return {
            value: {
              kind: "aws",
              publisher: guardedPublisher(publisher, policy),
              consumer: sqs,
              memory: undefined,
              local: { api: false, processor: false },
            },
          };
        }
        const deadLetters = new Counter({
          name: "queue_dead_letters_total",
          help: "Messages the in-process queue moved to its dead-letter list after QUEUE_MAX_RECEIVES receives",
          registers: [get("metrics").registry],
        });
        const memory = new MemoryQueue(config.QUEUE_MAX_RECEIVES, () => deadLetters.inc());
        return {
          value: {
            kind: "memory",
            publisher: guardedPublisher(memory, policy),
            consumer: memory,
            memory,
            local: { api: false, processor: false },
          },
        };
      },
    },
    paymentGateway: {
      deps: ["config", "resilience", "chargeLedger", "metrics"],
      init: ({ get }) => {
        const simMs = get("config").PAYMENT_SIM_MS;
        const policy = get("resilience").policy("payment", {
          timeoutMs: simMs + 2000,
          maxAttempts: 3,
          initialDelayMs: 50,
          maxDelayMs: 1000,
          breakAfter: 5,
          halfOpenAfterMs: 5000,
          isTransient: isNetworkError,
        });
        const gateway = new SimulatedGateway(
          get("chargeLedger"),
          simMs,
          policy,
          createGatewayMetrics(get("metrics").registry),
        );
        return { value: gateway };
      },
    },
    orders: {
      deps: ["config", "logger", "orderStore", "orderQueue", "paymentGateway"],
      init: ({ get }) => {
        const config = get("config");
        const queue = get("orderQueue");
        const service = new OrderService(
          {
            store: get("orderStore"),
            gateway: get("paymentGateway"),
            logger: get("logger"),
            paymentSlots: new Semaphore(config.PAYMENT_CONCURRENCY),
            syncQueueTimeoutMs: config.SYNC_QUEUE_TIMEOUT_MS,
            paymentSimMs: config.PAYMENT_SIM_MS,
          },
          () =>
            queue.kind === "memory" && !queue.local.processor
              ? {
                  unavailable:
                    "no processor consumes orders in this process: run --role api,processor (or all), " +
                    "or set SNS_TOPIC_ARN/SQS_QUEUE_URL for a separate processor",
                }
              : { publisher: queue.publisher },
        );
        return { value: service };
      },
    },
    checkout: {
      deps: [
        "config",
        "logger",
        "cartStore",
        "inventoryStore",
        "orderStore",
        "idAllocator",
        "idempotencyStore",
        "orders",
      ],
      init: ({ get }) => ({
        value: new CheckoutService({
          staleMs: get("config").CHECKOUT_STALE_MS,
          carts: get("cartStore"),
          inventory: get("inventoryStore"),
          orders: get("orderStore"),
          ids: get("idAllocator"),
          idempotency: get("idempotencyStore"),
          pipeline: get("orders"),
          logger: get("logger"),
        }),
      }),
    },
    carts: {
      deps: ["cartStore", "idAllocator", "productStore", "inventoryStore"],
      init: ({ get }) => ({
        value: new CartService({
          carts: get("cartStore"),
          ids: get("idAllocator"),
          products: get("productStore"),
          inventory: get("inventoryStore"),
        }),
      }),
    },
    payments: {
      deps: ["cartStore", "inventoryStore", "paymentGateway", "idempotencyStore"],
      init: ({ get }) => ({
        value: new PaymentService({
          carts: get("cartStore"),
          inventory: get("inventoryStore"),
          gateway: get("paymentGateway"),
          idempotency: get("idempotencyStore"),
        }),
      }),
    },
    warehouse: {
      deps: ["inventoryStore"],
      init: ({ get }) => ({ value: new WarehouseService(get("inventoryStore")) }),
    },
    ordersApi: {
      deps: ["http", "orders", "orderQueue", "logger"],
      init: ({ get }) => {
        const queue = get("orderQueue");
        queue.local.api = true;
        registerOrderRoutes(get("http"), get("orders"));
        return {
          value: undefined,
          start: () => {
            if (queue.kind === "memory" && !queue.local.processor) {
              get("logger").warn(
                "POST /orders/async and cart checkout answer 503: no processor in this process and no SNS/SQS",
              );
            }
          },
        };
      },
    },
    commerceApi: {
      deps: ["http", "config", "carts", "checkout", "payments", "warehouse"],
      init: ({ get }) => {
        const http = get("http");
        registerCartRoutes(http, { carts: get("carts"), checkout: get("checkout") });
        registerWarehouseRoutes(http, get("warehouse"), get("config").ADMIN_TOKEN);
        registerPaymentRoutes(http, get("payments"));
        return { value: undefined };
      },
    },
    orderProcessor: {
      // "server" first: the processor starts after the HTTP server and stops before it (drain order).
      deps: [
        "server",
        "config",
        "logger",
        "metrics",
        "orderQueue",
        "orderStore",
        "inventoryStore",
        "paymentGateway",
      ],
      init: ({ get, fail }) => {
        const config = get("config");
        const queue = get("orderQueue");
        if (!queue.consumer) {
          throw new Error(
            "the processor needs SQS_QUEUE_URL to consume from (SNS_TOPIC_ARN alone only publishes)",
          );
        }
        queue.local.processor = true;
        const processor = new QueueProcessor(
          queue.consumer,
          new OrderWorker(get("orderStore"), get("inventoryStore"), get("paymentGateway")),
          {
            concurrency: config.PROCESSOR_CONCURRENCY,
            visibilityS: config.QUEUE_VISIBILITY_TIMEOUT_S,
            waitS: 20,
            drainMs: config.PROCESSOR_DRAIN_MS,
          },
          createProcessorMetrics(get("metrics").registry),
          get("logger").child({ module: "processor" }),
          fail,
        );
        return {
          value: processor,
          start: () => {
            if (!queue.local.api) {
              const missing = SHARED_STATE.filter((name) => !config[name]);
              if (missing.length > 0) {
                throw new Error(
                  `the processor runs without the api in this process, so it needs shared state: set ${missing.join(", ")} ` +
                    "(or run --role all / --role api,processor to use the in-process queue and stores)",
                );
              }
            }
            processor.start();
          },
          stop: () => processor.stop(),
          ready: () => ({ in_flight: processor.inFlight() }),
        };
      },
    },
  };
}
