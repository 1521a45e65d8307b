#!/usr/bin/env bun
import { bootstrapDatabase } from "./adapters/postgres/bootstrap.ts";
import { type Command, parseArgs, USAGE, UsageError } from "./cli/args.ts";
import { MigrateRefused, migrate } from "./cli/migrate.ts";
import { seed } from "./cli/seed.ts";
import { ConfigError, describeConfig, loadConfig } from "./config.ts";
import { describeRoles } from "./modules/deps.ts";
import { ModuleError } from "./modules/graph.ts";
import { exit, onShutdownSignal } from "./runtime.ts";
import { startShop } from "./shop.ts";
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
    case "migrate":
      try {
        await migrate(loadConfig(env), command.force, (line) => console.log(line));
        return 0;
      } catch (err) {
        if (!(err instanceof MigrateRefused)) throw err;
        console.error(`shop: ${err.message}`);
        return 2;
      }
    case "db-bootstrap": {
      const config = loadConfig(env);
      if (!config.DATABASE_URL) {
        console.error("shop: db-bootstrap needs DATABASE_URL (the administrator's connection)");
        return 2;
      }
      await bootstrapDatabase(
        { url: config.DATABASE_URL, user: command.user, schema: config.DATABASE_SCHEMA, iam: command.iam },
        (line) => console.log(line),
      );
      return 0;
    }
    case "seed":
      await seed(
        command.counts,
        { env, write: (text) => process.stderr.write(text) },
        {
          tty: process.stdout.isTTY === true,
          write: (text) => process.stdout.write(text),
        },
      );
      return 0;
    case "run": {
      const shop = await startShop(command.roles, { env });
      onShutdownSignal((signal) => void shop.shutdown(0, signal));
      return shop.exited;
    }
  }
}

try {
  const command = parseArgs(process.argv.slice(2));
  exit(await run(command));
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
