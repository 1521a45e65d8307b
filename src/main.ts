#!/usr/bin/env bun
/**
 * The CLI entry. Each command imports what it runs when it runs (`await import`): the compiled binary then
 * evaluates only that command's code, and a role only its modules' (docs/benchmarks.md, cold start).
 */
import { type Command, parseArgs, USAGE, UsageError } from "./cli/args.ts";
import { ConfigError, describeConfig, loadConfig } from "./config.ts";
import { describeRoles } from "./modules/deps.ts";
import { ModuleError } from "./modules/graph.ts";
import { exit, onShutdownSignal } from "./runtime.ts";
import { versionLine } from "./version.ts";

const env = process.env;

async function healthcheck(url: string | undefined): Promise<number> {
  const target = url ?? `http://127.0.0.1:${loadConfig(env).PORT}/health`;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}

/** Printed from the dependency map itself, as docs/architecture.md is. */
async function run(command: Command): Promise<number> {
  switch (command.kind) {
    case "help":
      console.log(USAGE);
      return 0;
    case "version":
      console.log(versionLine());
      return 0;
    case "list-roles":
      console.log(describeRoles());
      return 0;
    case "config":
      loadConfig(env);
      for (const { name, value, source } of describeConfig(env)) {
        console.log(`${name.padEnd(24)} ${(value ?? "").padEnd(40)} (${source})`);
      }
      return 0;
    case "healthcheck":
      return healthcheck(command.url);
    case "migrate": {
      const { MigrateRefused, migrate } = await import("./cli/migrate.ts");
      try {
        await migrate(loadConfig(env), command.force, (line) => console.log(line));
        return 0;
      } catch (err) {
        if (!(err instanceof MigrateRefused)) throw err;
        console.error(`shop: ${err.message}`);
        return 2;
      }
    }
    case "db-bootstrap": {
      const config = loadConfig(env);
      if (!config.DATABASE_URL) {
        console.error("shop: db-bootstrap needs DATABASE_URL (the administrator's connection)");
        return 2;
      }
      const { bootstrapDatabase } = await import("./adapters/postgres/bootstrap.ts");
      await bootstrapDatabase(
        { url: config.DATABASE_URL, user: command.user, schema: config.DATABASE_SCHEMA, iam: command.iam },
        (line) => console.log(line),
      );
      return 0;
    }
    case "seed": {
      const { seed } = await import("./cli/seed.ts");
      await seed(
        command.counts,
        { env, write: (text) => process.stderr.write(text) },
        {
          tty: process.stdout.isTTY === true,
          write: (text) => process.stdout.write(text),
        },
      );
      return 0;
    }
    case "lambda": {
      const { runLambda } = await import("./lambda/run.ts");
      return runLambda(command.roles, { env, writeError: (text) => process.stderr.write(text) });
    }
    case "run": {
      const { startShop } = await import("./shop.ts");
      const shop = await startShop(command.roles, { env });
      onShutdownSignal((signal) => void shop.shutdown(0, signal));
      return shop.exited;
    }
  }
}

try {
  const command = parseArgs(process.argv.slice(2));
  // Inside Lambda the image's ordinary command becomes the custom runtime for the roles it names.
  const inLambda = command.kind === "run" && env.AWS_LAMBDA_RUNTIME_API !== undefined;
  exit(await run(inLambda ? { kind: "lambda", roles: command.roles } : command));
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`shop: ${err.message}\n\n${USAGE}`);
    exit(2);
  }
  const cause = err instanceof ModuleError ? err.cause : err;
  if (cause instanceof ConfigError) console.error(`shop: ${cause.message}`);
  else console.error(`shop: ${err instanceof Error ? err.message : String(err)}`);
  exit(1);
}
