import pkg from "../package.json" with { type: "json" };
import { runtimeName } from "./runtime.ts";

declare const SHOP_REVISION: string | undefined;

export const VERSION: string = pkg.version;
/** Baked in by `bun run build` (--define); "dev" when running from source. */
export const REVISION: string = typeof SHOP_REVISION === "string" ? SHOP_REVISION : "dev";

export const versionLine = () => `shop ${VERSION} (revision ${REVISION}, ${runtimeName})`;
