/**
 * What every module builds, and its init, gathered from one file per area (init/*.ts). What each
 * module needs is the map in deps.ts; this file only puts the two together.
 */
import type { DynamoDb } from "../adapters/dynamodb/client.ts";
import type { RedisConnection } from "../adapters/redis/client.ts";
import type { Archiver } from "../auctions/archiver.ts";
import type { Broadcaster } from "../auctions/broadcaster.ts";
import type { AuctionCloser } from "../auctions/closer.ts";
import type { Config } from "../config.ts";
import type { AuctionBook, BidArchive, BidStream } from "../domain/auctions.ts";
import type { CartStore } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import type { OrderStore } from "../domain/orders.ts";
import type { OutboxStore } from "../domain/outbox.ts";
import type { ChargeLedger, PaymentGateway } from "../domain/payments.ts";
import type { ProductCache, ProductCatalog } from "../domain/product-catalog.ts";
import type { ProductStore } from "../domain/products.ts";
import type { HttpCore } from "../http/app.ts";
import type { LambdaProcessor } from "../lambda/processor.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Resilience } from "../resilience/index.ts";
import type { AuctionHistory, AuctionItems } from "../services/auction-items.ts";
import type { CartService } from "../services/carts.ts";
import type { CheckoutService } from "../services/checkout.ts";
import type { OrderService } from "../services/orders.ts";
import type { OutboxRelay } from "../services/outbox-relay.ts";
import type { PaymentService } from "../services/payments.ts";
import type { OrderWorker, QueueProcessor } from "../services/processor.ts";
import type { WarehouseService } from "../services/warehouse.ts";
import type { AuctionBackend } from "./auction-backend.ts";
import { DEPS, type ModuleName, type Needs, type Role } from "./deps.ts";
import { type Init, type Inits, ModuleManager } from "./graph.ts";
import { auctionInits } from "./init/auctions.ts";
import { commerceInits, type OrderQueue } from "./init/commerce.ts";
import { platformInits } from "./init/platform.ts";
import { productInits } from "./init/products.ts";

/** Each module's value; roles and modules that only register routes have none. */
export interface Modules {
  // platform
  config: Config;
  logger: Logger & { flush(): void };
  metrics: Metrics;
  /** Installs the process's tracing (observability/tracing.ts) when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing: undefined;
  http: HttpCore;
  /** Listens last and stops first among the request-serving modules; worker modules depend on it. */
  server: { port(): number | undefined };
  resilience: Resilience;
  /** The shared DynamoDB client and policy, when any *_TABLE is configured. */
  dynamodb: DynamoDb | undefined;
  /** The shared Redis connection, when REDIS_URL is set. */
  redis: RedisConnection | undefined;
  /** GET/PUT/DELETE /admin/faults, registered only when ADMIN_TOKEN is set. */
  adminApi: undefined;
  /** Installs the RATE_LIMIT_* buckets into the HTTP guard. */
  rateLimits: undefined;
  // products
  productStore: ProductStore;
  productCache: ProductCache | undefined;
  productCatalog: ProductCatalog;
  productsApi: undefined;
  // commerce
  orderStore: OrderStore;
  cartStore: CartStore;
  inventoryStore: InventoryStore;
  idempotencyStore: IdempotencyStore;
  idAllocator: IdAllocator;
  chargeLedger: ChargeLedger;
  outboxStore: OutboxStore;
  /** Publishes committed outbox records; runs wherever orders are accepted. */
  outboxRelay: OutboxRelay;
  orderQueue: OrderQueue;
  paymentGateway: PaymentGateway;
  orders: OrderService;
  checkout: CheckoutService;
  carts: CartService;
  payments: PaymentService;
  warehouse: WarehouseService;
  ordersApi: undefined;
  commerceApi: undefined;
  /** One order's effects, idempotent by order id: what both processors run per message. */
  orderWorker: OrderWorker;
  /** The processor role's worker: queue → OrderWorker. */
  orderProcessor: QueueProcessor;
  /** The processor on Lambda: one invocation's records → OrderWorker; fed by src/lambda/run.ts. */
  lambdaProcessor: LambdaProcessor;
  // auctions
  auctionBackend: AuctionBackend;
  auctionBook: AuctionBook;
  bidStream: BidStream;
  bidArchive: BidArchive;
  auctionItems: AuctionItems;
  /** GET …/bids: the archive when DATABASE_URL is set, else the book. */
  bidHistory: AuctionHistory;
  bidderApi: undefined;
  /** The bidder role's worker: closes due auctions and settles them into orders. */
  auctionCloser: AuctionCloser;
  /** The broadcaster role's worker: stream reader, WebSocket fan-out and the live page. */
  liveFeed: Broadcaster;
  /** The archiver role's worker: consumer group → archive. */
  archiveWorker: Archiver;
  // roles
  api: undefined;
  processor: undefined;
  bidder: undefined;
  broadcaster: undefined;
  archiver: undefined;
  all: undefined;
}

export interface Environment {
  env: Record<string, string | undefined>;
  /** Where log lines go; tests capture them. */
  write?: (text: string) => void;
}

/** A module's init: it may `get` only what deps.ts declares for it (checked by TypeScript and at run time). */
export type ModuleInit<K extends ModuleName> = Init<Modules, K, Needs<K>>;
/** The inits one area file contributes. */
export type AreaInits = { [K in ModuleName]?: ModuleInit<K> };

/** Every module with a value has exactly one init; roles have none. */
type AllInits = { [K in Exclude<ModuleName, Role>]: ModuleInit<K> };

/** The modules `roots` need, ready to init, start and stop. */
export function createModules(
  environment: Environment,
  roots: readonly ModuleName[],
  onFailure: (module: string, err: unknown) => void,
): ModuleManager<Modules> {
  const inits: AllInits = {
    ...platformInits(environment, roots),
    ...productInits,
    ...commerceInits,
    ...auctionInits,
  };
  return new ModuleManager<Modules>(DEPS, inits as Inits<Modules>, roots, onFailure);
}

export { ROLES } from "./deps.ts";
export type { ModuleName, Role };
