/**
 * The process lifecycle around the module graph: init, start in dependency order, serve, and on a
 * signal or a failure: /ready 503 → drain → stop in reverse order (the server stops accepting and
 * finishes in-flight requests) → exit, all bounded by SHUTDOWN_TIMEOUT_MS.
 */
import type { ModuleManager } from "./modules/graph.ts";
import { createModules, type Environment, type Modules, type Role } from "./modules/registry.ts";
import { errorFields } from "./observability/log.ts";
import { sleep } from "./util/time.ts";

export interface RunningShop {
  manager: ModuleManager<Modules>;
  /** The bound port, when this process serves HTTP. */
  port: number | undefined;
  /** Starts the graceful shutdown (idempotent); resolves with the exit code. */
  shutdown(code: number, reason: string): Promise<number>;
  /** Resolves with the exit code once the process should exit: after shutdown, or on a fatal failure. */
  exited: Promise<number>;
}

const READY_PROBE_TIMEOUT_MS = 2000;

export async function startShop(roles: readonly Role[], environment: Environment): Promise<RunningShop> {
  const startedAt = performance.now();
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  let stopping: Promise<number> | undefined;
  let shutdown: RunningShop["shutdown"] = async (code) => code;

  const manager = createModules(environment, roles, (module, err) => {
    if (manager.has("logger")) manager.get("logger").error("module failed", { module, ...errorFields(err) });
    void shutdown(1, `module ${module} failed`);
  });

  await manager.init();
  const config = manager.get("config");
  const logger = manager.get("logger");
  const http = manager.get("http");
  http.setProbe(() => manager.readiness(READY_PROBE_TIMEOUT_MS));

  shutdown = (code, reason) => {
    stopping ??= (async () => {
      logger.info("shutting down", { reason, drain_ms: config.SHUTDOWN_DRAIN_MS });
      http.setAccepting(false);
      const timer = setTimeout(() => {
        logger.error("shutdown exceeded SHUTDOWN_TIMEOUT_MS", { timeout_ms: config.SHUTDOWN_TIMEOUT_MS });
        logger.flush();
        resolveExit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      // Load balancers need the drain window to see /ready fail; a crash has no one to drain for.
      if (code === 0) await sleep(config.SHUTDOWN_DRAIN_MS);
      await manager.stop((module, err) =>
        logger.error("module failed to stop", { module, ...errorFields(err) }),
      );
      clearTimeout(timer);
      logger.info("stopped", { exit_code: code });
      logger.flush();
      resolveExit(code);
      return code;
    })();
    return stopping;
  };

  try {
    await manager.start();
  } catch (err) {
    logger.error("startup failed", errorFields(err));
    await manager.stop((module, e) => logger.error("module failed to stop", { module, ...errorFields(e) }));
    logger.flush();
    throw err;
  }
  http.setAccepting(true);
  const port = manager.has("server") ? manager.get("server").port() : undefined;
  logger.info("started", {
    roles,
    modules: manager.order,
    port,
    startup_ms: Math.round(performance.now() - startedAt),
  });
  return { manager, port, shutdown: (code, reason) => shutdown(code, reason), exited };
}
