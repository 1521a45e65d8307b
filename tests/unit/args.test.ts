import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";

describe("command line", () => {
  test("no arguments runs every role", () => {
    expect(parseArgs([])).toEqual({ kind: "run", roles: ["all"] });
  });

  test("--role takes one or several roles, in both flag forms", () => {
    expect(parseArgs(["--role", "api"])).toEqual({ kind: "run", roles: ["api"] });
    expect(parseArgs(["--role=bidder,broadcaster,bidder"])).toEqual({
      kind: "run",
      roles: ["bidder", "broadcaster"],
    });
  });

  test.each([
    [
      ["--role", "nope"],
      /unknown role "nope".*valid roles: api, processor, bidder, broadcaster, archiver, all/,
    ],
    [["--role"], /--role needs a value/],
    [["--role", "api,"], /unknown role ""/],
    [["--verbose"], /unknown flag "--verbose".*--role/],
    [["serve"], /unknown command "serve"/],
    [["healthcheck", "--port", "1"], /valid flags: --url/],
    [["config", "x"], /takes no arguments/],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  test("informational flags and subcommands", () => {
    expect(parseArgs(["--list-roles"])).toEqual({ kind: "list-roles" });
    expect(parseArgs(["-h"])).toEqual({ kind: "help" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
    expect(parseArgs(["config"])).toEqual({ kind: "config" });
    expect(parseArgs(["healthcheck"])).toEqual({ kind: "healthcheck", url: undefined });
    expect(parseArgs(["healthcheck", "--url=http://x/health"])).toEqual({
      kind: "healthcheck",
      url: "http://x/health",
    });
  });
});
