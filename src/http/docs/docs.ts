/**
 * /docs: the interactive API reference (Scalar) served entirely from this origin. The UI's standalone
 * bundle comes from the npm package pinned by the lockfile, embedded in the binary, under a versioned
 * path cached as immutable; the page's Content-Security-Policy allows nothing but this origin, so no
 * third-party script ever runs next to the key a reader types in.
 */
// A default import: Deno gives JSON modules no named exports.
import scalarPackage from "../../../node_modules/@scalar/api-reference/package.json" with { type: "json" };
import { isDeno } from "../../runtime.ts";

const { version } = scalarPackage;

export const DOCS_SCRIPT = `/docs/assets/scalar-api-reference-${version}.js`;
export const DOCS_INIT = `/docs/assets/init-${version}.js`;

/**
 * Scripts and connections only to this origin. Styles may be inline: the bundle injects its stylesheet
 * and Vue sets style attributes (neither can run code). Fonts: the bundle's own are off (withDefaultFonts).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * The reference's configuration, a JSON block in the page (data, not code). No proxy (requests go
 * straight to this origin), no telemetry, no fonts from Scalar's CDN.
 */
const CONFIG = {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
};

export const docsPage = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body>
<div id="app"></div>
<script id="scalar-config" type="application/json">${JSON.stringify(CONFIG)}</script>
<script src="${DOCS_SCRIPT}"></script>
<script src="${DOCS_INIT}"></script>
</body>
</html>
`;

/** The page's only code of our own, as a file so the CSP needs no 'unsafe-inline' for scripts. */
export const DOCS_INIT_SCRIPT = `Scalar.createApiReference("#app", JSON.parse(document.getElementById("scalar-config").textContent));
`;

/** The bundle's bytes: embedded in the binary under Bun, read from node_modules under Deno. */
export async function docsScript(): Promise<Blob> {
  if (isDeno) {
    const url = new URL(
      "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js",
      import.meta.url,
    );
    const { readFile } = await import("node:fs/promises");
    return new Blob([await readFile(url)], { type: "text/javascript; charset=utf-8" });
  }
  const { default: path } = await import("./asset-bun.ts");
  return Bun.file(path, { type: "text/javascript; charset=utf-8" });
}
