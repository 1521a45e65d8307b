import { ROLES, type Role } from "../modules/deps.ts";

export type Command =
  | { kind: "run"; roles: Role[] }
  | { kind: "lambda"; roles: Role[] }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "list-roles" }
  | { kind: "config" }
  | { kind: "healthcheck"; url: string | undefined }
  | { kind: "migrate"; force: boolean }
  | { kind: "db-bootstrap"; user: string; iam: boolean }
  | { kind: "seed"; counts: Partial<Record<SeedTarget, number>> };

/** What `shop seed` can load: each becomes a `--NAME N` flag; src/cli/seed.ts has the seeder. */
export const SEED_TARGETS = {
  products: "demo products with ids 1..N",
  stock: "N units of stock for each demo product (1..--products, else 1..1000)",
} as const;
export type SeedTarget = keyof typeof SEED_TARGETS;

const SEED_MAX = 10_000_000;

/** Wrong usage: the process exits 2 with the message, which lists the valid choices. */
export class UsageError extends Error {
  override name = "UsageError";
}

const SUBCOMMANDS = ["healthcheck", "config", "migrate", "db-bootstrap", "seed", "lambda"] as const;
const RUN_FLAGS = ["--role", "--list-roles", "--help", "-h", "--version", "-v"];

export const USAGE = `usage:
  shop [--role ROLE[,ROLE...]]     run the given roles (default: all)
  shop --list-roles                each role and the modules it pulls in
  shop healthcheck [--url URL]     exit 0 when URL (default http://127.0.0.1:$PORT/health) answers 200
  shop config                      print the effective configuration, secrets redacted
  shop migrate [--force]           create the missing DynamoDB tables of every *_TABLE set (local endpoint
                                   only; --force allows a real AWS endpoint)
  shop db-bootstrap --user NAME [--iam]
                                   as the administrator of DATABASE_URL: create the login role NAME that may
                                   create tables in DATABASE_SCHEMA and nothing else (--iam: RDS IAM tokens)
${Object.entries(SEED_TARGETS)
  .map(([name, doc]) => `  shop seed --${name} N`.padEnd(35) + doc)
  .join("\n")}
  shop lambda [--role processor]   run the role as an AWS Lambda custom runtime (AWS_LAMBDA_RUNTIME_API set
                                   by Lambda); a plain run with AWS_LAMBDA_RUNTIME_API set does the same
  shop --version | --help

roles: ${ROLES.join(", ")}
configuration: environment variables only (see README or \`shop config\`)`;

/** Splits `--flag=value` and `--flag value` forms. */
function takeValue(argv: string[], i: number, flag: string): [string, number] {
  const arg = argv[i] ?? "";
  const eq = arg.indexOf("=");
  if (eq >= 0) return [arg.slice(eq + 1), i];
  const next = argv[i + 1];
  if (next === undefined || next.startsWith("-")) throw new UsageError(`${flag} needs a value`);
  return [next, i + 1];
}

export function parseRoles(value: string): Role[] {
  const names = value.split(",").map((r) => r.trim());
  const bad = names.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length > 0 || names.length === 0) {
    throw new UsageError(
      `unknown role ${bad.map((b) => `"${b}"`).join(", ") || '""'}; valid roles: ${ROLES.join(", ")}`,
    );
  }
  return [...new Set(names as Role[])];
}

export function parseArgs(argv: string[]): Command {
  const sub = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
  if (sub !== undefined) {
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UsageError(`unknown command "${sub}"; valid commands: ${SUBCOMMANDS.join(", ")}`);
    }
    return parseSubcommand(sub as (typeof SUBCOMMANDS)[number], argv.slice(1));
  }
  let roles: Role[] = ["all"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const flag = arg.split("=")[0] ?? arg;
    switch (flag) {
      case "--role": {
        const [value, next] = takeValue(argv, i, "--role");
        roles = parseRoles(value);
        i = next;
        break;
      }
      case "--list-roles":
        return { kind: "list-roles" };
      case "--help":
      case "-h":
        return { kind: "help" };
      case "--version":
      case "-v":
        return { kind: "version" };
      default:
        throw new UsageError(`unknown flag "${arg}"; valid flags: ${RUN_FLAGS.join(", ")}`);
    }
  }
  return { kind: "run", roles };
}

function parseSubcommand(sub: (typeof SUBCOMMANDS)[number], argv: string[]): Command {
  switch (sub) {
    case "healthcheck": {
      let url: string | undefined;
      for (let i = 0; i < argv.length; i++) {
        const flag = (argv[i] ?? "").split("=")[0];
        if (flag !== "--url")
          throw new UsageError(`unknown flag "${argv[i]}" for healthcheck; valid flags: --url`);
        [url, i] = takeValue(argv, i, "--url");
      }
      return { kind: "healthcheck", url };
    }
    case "config":
      if (argv.length > 0) throw new UsageError(`config takes no arguments, got "${argv[0]}"`);
      return { kind: "config" };
    case "migrate": {
      const bad = argv.find((a) => a !== "--force");
      if (bad !== undefined) throw new UsageError(`unknown flag "${bad}" for migrate; valid flags: --force`);
      return { kind: "migrate", force: argv.length > 0 };
    }
    case "db-bootstrap": {
      let user: string | undefined;
      let iam = false;
      for (let i = 0; i < argv.length; i++) {
        const flag = (argv[i] ?? "").split("=")[0];
        if (flag === "--iam") iam = true;
        else if (flag === "--user") [user, i] = takeValue(argv, i, "--user");
        else throw new UsageError(`unknown flag "${argv[i]}" for db-bootstrap; valid flags: --user, --iam`);
      }
      if (user === undefined) throw new UsageError("db-bootstrap needs --user NAME");
      return { kind: "db-bootstrap", user, iam };
    }
    case "seed":
      return parseSeed(argv);
    case "lambda": {
      let roles: Role[] = ["processor"];
      for (let i = 0; i < argv.length; i++) {
        const flag = (argv[i] ?? "").split("=")[0];
        if (flag !== "--role")
          throw new UsageError(`unknown flag "${argv[i]}" for lambda; valid flags: --role`);
        const [value, next] = takeValue(argv, i, "--role");
        roles = parseRoles(value);
        i = next;
      }
      return { kind: "lambda", roles };
    }
  }
}

function parseSeed(argv: string[]): Command {
  const flags = Object.keys(SEED_TARGETS).map((t) => `--${t}`);
  const counts: Partial<Record<SeedTarget, number>> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] ?? "").split("=")[0] ?? "";
    const target = flag.slice(2);
    if (!flag.startsWith("--") || !Object.hasOwn(SEED_TARGETS, target)) {
      throw new UsageError(`unknown flag "${argv[i]}" for seed; valid flags: ${flags.join(", ")}`);
    }
    const [value, next] = takeValue(argv, i, flag);
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > SEED_MAX) {
      throw new UsageError(`${flag} needs a count in 1..${SEED_MAX}, got "${value}"`);
    }
    counts[target as SeedTarget] = Number(value);
    i = next;
  }
  if (Object.keys(counts).length === 0)
    throw new UsageError(`seed needs at least one of ${flags.join(", ")}`);
  return { kind: "seed", counts };
}
