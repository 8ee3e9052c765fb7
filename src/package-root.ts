/**
 * The installed package's root folder (package.json, native/). Found by walking up from this
 * module, so it is the same answer from dist/*.js (ESM), dist/index.cjs (the CommonJS bundle, where
 * the build maps import.meta.url to __filename) and src/*.ts under tsx.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "bert-ts") return dir;
      } catch {
        // Not ours, or unreadable: keep walking up.
      }
    }
    if (dirname(dir) === dir) throw new Error(`bert-ts: cannot find bert-ts' package.json above ${from}`);
  }
}

export const PACKAGE_ROOT: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
