/**
 * The reference UI's standalone bundle as a file Bun embeds in the compiled executable (`type: "file"`):
 * from source the path is the file in node_modules, in the binary one inside the executable. Imported only
 * under Bun; Deno reads the same file from node_modules (docs.ts).
 */
// @ts-expect-error: a JavaScript bundle imported as a file (its path), which has no type declarations
import path from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with {
  type: "file",
};

export default path as unknown as string;
