/**
 * The whole process in one table: every module and role, and what it needs (in the manner of Grafana
 * Mimir's `deps := map[string][]string{…}`). Roles are modules without an init that only pull others
 * in; `all` is their union. What each module builds is in registry.ts, its init in init/<area>.ts.
 *
 * Plain data with no runtime imports beyond the resolver: terraform/ imports it to derive each role's
 * IAM and environment from `resourcesOf`, so it must stay free of side effects and runtime APIs.
 */
import type { TableVariable } from "../adapters/dynamodb/tables.ts";
import { type DepsMap, resolveOrder } from "./graph.ts";
import type { Modules } from "./registry.ts";

// biome-ignore format: one line per module, so that the map reads as a table
export const DEPS = {
  // platform
  config: [],
  logger: ["config"],
  metrics: [],
  // Before every module that calls a dependency, so their clients are instrumented as they are built.
  tracing: ["config", "logger", "metrics"],
  http: ["config", "logger", "metrics", "tracing"],
  server: ["config", "http", "logger"],
  resilience: ["config", "logger", "metrics", "tracing"],
  dynamodb: ["config", "resilience"],
  redis: ["config", "resilience", "logger"],
  adminApi: ["http", "config", "resilience"],
  // The operations' rate limits, in Redis when REDIS_URL is set; pulled by the roles that serve operations.
  rateLimits: ["config", "logger", "http", "redis"],
  // products
  productStore: ["config", "dynamodb"],
  productCache: ["config", "redis"],
  productCatalog: ["productStore", "productCache", "logger"],
  productsApi: ["http", "productCatalog", "metrics"],
  // commerce: stores, the order pipeline, carts, warehouse, payments
  orderStore: ["config", "dynamodb", "resilience"],
  cartStore: ["config", "dynamodb", "resilience"],
  inventoryStore: ["config", "dynamodb", "resilience"],
  idempotencyStore: ["config", "dynamodb", "resilience"],
  idAllocator: ["config", "dynamodb", "resilience"],
  chargeLedger: ["config", "dynamodb", "resilience"],
  outboxStore: ["config", "dynamodb", "resilience"],
  orderQueue: ["config", "metrics", "resilience"],
  paymentGateway: ["config", "resilience", "chargeLedger", "metrics"],
  // Publishes the outbox: needed by "orders", so it runs wherever orders are accepted (api, bidder).
  outboxRelay: ["config", "logger", "metrics", "outboxStore", "orderQueue"],
  orders: ["config", "logger", "dynamodb", "resilience", "orderStore", "outboxStore", "outboxRelay", "orderQueue", "paymentGateway"],
  checkout: ["config", "logger", "dynamodb", "resilience", "cartStore", "inventoryStore", "orderStore", "outboxStore", "idAllocator", "idempotencyStore", "orders"],
  carts: ["cartStore", "idAllocator", "productStore", "inventoryStore"],
  payments: ["cartStore", "inventoryStore", "orderStore", "paymentGateway", "idempotencyStore"],
  warehouse: ["inventoryStore"],
  ordersApi: ["http", "orders", "logger"],
  commerceApi: ["http", "config", "carts", "checkout", "payments", "warehouse"],
  orderWorker: ["config", "dynamodb", "resilience", "orderStore", "inventoryStore", "paymentGateway"],
  // "server" first: the processor starts after the HTTP server and stops before it (drain order).
  orderProcessor: ["server", "config", "logger", "metrics", "orderQueue", "orderWorker"],
  // The processor on Lambda: the Runtime API loop hands it events; no poller, no HTTP server.
  lambdaProcessor: ["config", "logger", "orderQueue", "orderWorker"],
  // auctions
  auctionBackend: ["config", "logger"],
  auctionBook: ["config", "auctionBackend"],
  bidStream: ["config", "auctionBackend"],
  bidArchive: ["config"],
  auctionItems: ["auctionBook", "logger"],
  bidHistory: ["config", "auctionBook", "auctionItems", "logger"],
  bidderApi: ["config", "http", "auctionItems", "bidHistory"],
  // Closes auctions and settles them into orders, so it needs the order pipeline; after "server".
  auctionCloser: ["server", "config", "logger", "metrics", "auctionBook", "orders"],
  // After "server": these start once the server listens and stop before it.
  liveFeed: ["logger", "metrics", "http", "server", "auctionBook", "auctionItems", "bidStream"],
  archiveWorker: ["config", "logger", "metrics", "server", "bidStream", "bidArchive"],
  // roles
  api: ["productsApi", "adminApi", "ordersApi", "commerceApi", "rateLimits", "server"],
  processor: ["orderProcessor", "server"],
  bidder: ["bidderApi", "auctionCloser", "rateLimits", "server"],
  broadcaster: ["liveFeed", "server"],
  archiver: ["archiveWorker", "server"],
  all: ["api", "processor", "bidder", "broadcaster", "archiver"],
} as const satisfies DepsMap<keyof Modules & string>;

export type ModuleName = keyof typeof DEPS;
/** The modules `name` may `get` in its init. */
export type Needs<K extends ModuleName> = (typeof DEPS)[K][number];

export const ROLES = ["api", "processor", "bidder", "broadcaster", "archiver", "all"] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (name: string): name is Role => (ROLES as readonly string[]).includes(name);

/**
 * Roles that also run as an AWS Lambda custom runtime (`shop lambda`, or any run with AWS_LAMBDA_RUNTIME_API
 * set), and the modules started there instead of the role: the Runtime API loop (src/lambda/run.ts) feeds
 * events to them, so neither the role's SQS poller nor its HTTP server runs. terraform/ grants the function
 * `resourcesOf(...LAMBDA_ROOTS.processor)`.
 */
export const LAMBDA_ROOTS = {
  processor: ["lambdaProcessor"],
} as const satisfies { [R in Role]?: readonly ModuleName[] };
export type LambdaRole = keyof typeof LAMBDA_ROOTS;

export const isLambdaRole = (name: string): name is LambdaRole => Object.hasOwn(LAMBDA_ROOTS, name);

/** Every module `roots` pull in, dependencies first (roles excluded). */
export const modulesOf = (...roots: ModuleName[]): ModuleName[] =>
  resolveOrder<ModuleName>(DEPS, roots).filter((m) => !isRole(m));

/**
 * What `--list-roles` prints and docs/architecture.md shows: each role and the modules it runs, then each
 * role's modules as a Lambda custom runtime.
 */
export function describeRoles(): string {
  const rows: [string, ModuleName[]][] = [
    ...ROLES.map((role): [string, ModuleName[]] => [role, modulesOf(role)]),
    ...Object.entries(LAMBDA_ROOTS).map(([role, roots]): [string, ModuleName[]] => [
      `${role}@lambda`,
      modulesOf(...roots),
    ]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, modules]) => `${label.padEnd(width)}${modules.join(", ")}`).join("\n");
}

/**
 * What a module touches outside the process: a DynamoDB table (by the variable naming it), Redis,
 * PostgreSQL, publishing orders (SNS, or SQS directly), consuming them (SQS: receive, delete, visibility),
 * setting the retry time of an order message someone else received (SQS ChangeMessageVisibility only), the
 * admin token.
 */
export type Resource =
  | TableVariable
  | "redis"
  | "postgres"
  | "publishOrders"
  | "consumeOrders"
  | "retryOrders"
  | "adminToken";

/** Only modules that use a backing resource themselves appear; the rest reach them through these. */
export const USES = {
  redis: ["redis"],
  adminApi: ["adminToken"],
  productStore: ["PRODUCTS_TABLE"],
  orderStore: ["ORDERS_TABLE"],
  cartStore: ["CARTS_TABLE"],
  inventoryStore: ["INVENTORY_TABLE"],
  idempotencyStore: ["IDEMPOTENCY_TABLE"],
  idAllocator: ["COUNTERS_TABLE"],
  chargeLedger: ["IDEMPOTENCY_TABLE"],
  outboxStore: ["OUTBOX_TABLE"],
  outboxRelay: ["publishOrders"],
  orderProcessor: ["consumeOrders"],
  // Lambda's event source mapping receives and deletes; the function only sets failed messages' retry times.
  lambdaProcessor: ["retryOrders"],
  commerceApi: ["adminToken"],
  auctionBackend: ["redis"],
  bidArchive: ["postgres"],
  bidHistory: ["postgres"],
  bidderApi: ["adminToken"],
} as const satisfies { [K in ModuleName]?: readonly Resource[] };

const used = (module: ModuleName): readonly Resource[] =>
  (USES as { [K in ModuleName]?: readonly Resource[] })[module] ?? [];
const isTable = (r: Resource): r is TableVariable => r.endsWith("_TABLE");

/** The table a store module keeps its data in: the init reads its name from this variable. */
export function tableOf(module: ModuleName): TableVariable {
  const [table, ...more] = used(module).filter(isTable);
  if (table === undefined || more.length > 0)
    throw new Error(`module ${module} must declare exactly one table`);
  return table;
}

export interface Resources {
  /** The `*_TABLE` variables, in module order, each once. */
  tables: TableVariable[];
  redis: boolean;
  postgres: boolean;
  publishOrders: boolean;
  consumeOrders: boolean;
  retryOrders: boolean;
  adminToken: boolean;
}

/**
 * The union of the resources of every module `roots` pull in: `resourcesOf("processor")` is what a
 * processor task needs granted and configured. Pure; the same answer the running process acts on.
 */
export function resourcesOf(...roots: ModuleName[]): Resources {
  const all = new Set(resolveOrder<ModuleName>(DEPS, roots).flatMap(used));
  const has = (r: Resource) => all.has(r);
  return {
    tables: [...all].filter(isTable),
    redis: has("redis"),
    postgres: has("postgres"),
    publishOrders: has("publishOrders"),
    consumeOrders: has("consumeOrders"),
    retryOrders: has("retryOrders"),
    adminToken: has("adminToken"),
  };
}
