import { expect, test } from "bun:test";
import { vars } from "../../src/config.ts";
import { ROOT } from "../helpers/shop.ts";

// The README's configuration table is the users' reference: every variable shop reads must be in it.
test("the README documents every environment variable in src/config.ts", async () => {
  const readme = await Bun.file(`${ROOT}README.md`).text();
  const missing = Object.keys(vars).filter((name) => !readme.includes(`| \`${name}\` |`));
  expect(missing).toEqual([]);
});
