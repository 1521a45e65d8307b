/**
 * The custom-runtime loop: init the processor's modules (an init failure is posted to /runtime/init/error),
 * then next → handle → response or error, until SIGTERM. Lambda sends SIGTERM only when an extension is
 * registered, and then leaves the runtime 300 ms (500 ms with an internal extension) before SIGKILL; without
 * extensions the sandbox is simply frozen and discarded. So nothing here relies on a shutdown: every reply
 * is complete when it is posted, and SIGTERM only cuts the current invocation short (docs/lambda.md).
 */
import { ConfigError } from "../config.ts";
import { isLambdaRole, LAMBDA_ROOTS, type Role } from "../modules/deps.ts";
import { ModuleError, type ModuleManager } from "../modules/graph.ts";
import { createModules, type Environment, type Modules } from "../modules/registry.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { onShutdownSignal } from "../runtime.ts";
import { sleep } from "../util/time.ts";
import type { LambdaProcessor } from "./processor.ts";
import {
  type FunctionError,
  type Invocation,
  isRuntimeApiAddress,
  RuntimeApi,
  RuntimeApiError,
} from "./runtime-api.ts";

export interface LambdaEnvironment extends Environment {
  /** Where errors go before the logger exists. */
  writeError: (text: string) => void;
}

/** What is left of Lambda's shutdown budget for stopping modules after the reply (300 ms in all). */
const STOP_BOUND_MS = 150;
const NEXT_ATTEMPTS = 5;

export async function runLambda(roles: readonly Role[], environment: LambdaEnvironment): Promise<number> {
  const loaded = performance.now();
  const address = environment.env.AWS_LAMBDA_RUNTIME_API;
  if (!address || !isRuntimeApiAddress(address)) {
    environment.writeError(
      `shop: AWS_LAMBDA_RUNTIME_API must be host:port (Lambda sets it; tests point it at an emulator), got ${JSON.stringify(address ?? "")}\n`,
    );
    return 2;
  }
  const api = new RuntimeApi(address);
  const stop = new AbortController();
  onShutdownSignal(() => stop.abort());

  let manager: ModuleManager<Modules> | undefined;
  try {
    const [role, ...more] = roles;
    if (role === undefined || more.length > 0 || !isLambdaRole(role)) {
      throw new Error(
        `only the ${Object.keys(LAMBDA_ROOTS).join(", ")} role runs on Lambda, got --role ${roles.join(",")}: set the image command to ["lambda", "--role", "processor"]`,
      );
    }
    // The role's Lambda modules instead of the role: no poller, no HTTP server; this loop feeds them.
    manager = createModules(environment, LAMBDA_ROOTS[role], (module, err) => {
      if (manager?.has("logger"))
        manager.get("logger").error("module failed", { module, ...errorFields(err) });
      stop.abort();
    });
    await manager.init();
    await manager.start();
  } catch (err) {
    const error = initError(err);
    environment.writeError(`shop: ${error.errorMessage}\n`);
    await api
      .initError(error)
      .catch((e) => environment.writeError(`shop: could not post the init error: ${e}\n`));
    return 1;
  }

  const logger = manager.get("logger");
  const processor = manager.get("lambdaProcessor");
  // Since exec: the bundle evaluated (loaded_ms), then the modules initialised (startup_ms); the cold start's parts.
  logger.info("lambda runtime ready", {
    roles,
    loaded_ms: Math.round(loaded),
    startup_ms: Math.round(performance.now()),
  });
  const code = await serve(api, processor, logger, stop.signal);
  await Promise.race([
    manager.stop((module, err) => logger.error("module failed to stop", { module, ...errorFields(err) })),
    sleep(STOP_BOUND_MS),
  ]);
  logger.info("stopped", { exit_code: code, reason: stop.signal.aborted ? "signal" : "runtime api" });
  logger.flush();
  return code;
}

/** next → handle → reply until `stop`; 0 after a stop, 1 when the Runtime API is gone. */
export async function serve(
  api: RuntimeApi,
  processor: Pick<LambdaProcessor, "handle">,
  logger: Logger & { flush(): void },
  stop: AbortSignal,
): Promise<number> {
  const stopped = new Promise<undefined>((resolve) =>
    stop.addEventListener("abort", () => resolve(undefined)),
  );
  while (!stop.aborted) {
    const invocation = await Promise.race([nextInvocation(api, logger), stopped]);
    if (invocation === undefined) return 0;
    if (invocation === "gone") return 1;
    if (invocation.traceId === undefined) delete process.env._X_AMZN_TRACE_ID;
    // The X-Ray SDK and the AWS SDK's trace propagation read the current trace from here.
    else process.env._X_AMZN_TRACE_ID = invocation.traceId;
    const reply = await processor.handle(invocation, stop).then(
      (result) => result.reply,
      // A bug, not an order's failure: the whole invocation fails and its messages come back; the runtime stays.
      (err: unknown): { error: FunctionError } => {
        logger.error("invocation failed", { request_id: invocation.requestId, ...errorFields(err) });
        return {
          error: {
            errorType: "Shop.Unhandled",
            errorMessage: err instanceof Error ? err.message : String(err),
          },
        };
      },
    );
    // The sandbox may be frozen as soon as the reply is posted: no log line may wait for a timer.
    logger.flush();
    try {
      if ("response" in reply) await api.respond(invocation.requestId, reply.response);
      else await api.invocationError(invocation.requestId, reply.error);
    } catch (err) {
      // Past the deadline (or after a SIGTERM reset) Lambda no longer takes the reply; the messages return anyway.
      logger.error("reply not accepted", { request_id: invocation.requestId, ...errorFields(err) });
      if (err instanceof RuntimeApiError && err.status >= 500) return 1;
    }
  }
  return 0;
}

/** A failed `next` means the Runtime API is going away; a few quick attempts tell a blip from that. */
async function nextInvocation(
  api: RuntimeApi,
  logger: Logger & { flush(): void },
): Promise<Invocation | "gone"> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.next();
    } catch (err) {
      const fatal = err instanceof RuntimeApiError && err.status >= 500;
      logger.error("next invocation failed", { attempt, ...errorFields(err) });
      if (fatal || attempt >= NEXT_ATTEMPTS) {
        logger.flush();
        return "gone";
      }
      await sleep(50 * attempt);
    }
  }
}

function initError(err: unknown): FunctionError {
  const cause = err instanceof ModuleError ? err.cause : err;
  if (cause instanceof ConfigError) return { errorType: "Shop.ConfigError", errorMessage: cause.message };
  return { errorType: "Shop.InitError", errorMessage: err instanceof Error ? err.message : String(err) };
}
