import { ROLES, type Role } from "../modules/registry.ts";

export type Command =
  | { kind: "run"; roles: Role[] }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "list-roles" }
  | { kind: "config" }
  | { kind: "healthcheck"; url: string | undefined };

/** Wrong usage: the process exits 2 with the message, which lists the valid choices. */
export class UsageError extends Error {
  override name = "UsageError";
}

const SUBCOMMANDS = ["healthcheck", "config"] as const;
const RUN_FLAGS = ["--role", "--list-roles", "--help", "-h", "--version", "-v"];

export const USAGE = `usage:
  shop [--role ROLE[,ROLE...]]     run the given roles (default: all)
  shop --list-roles                each role and the modules it pulls in
  shop healthcheck [--url URL]     exit 0 when URL (default http://127.0.0.1:$PORT/health) answers 200
  shop config                      print the effective configuration, secrets redacted
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
  }
}
