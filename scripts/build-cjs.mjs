#!/usr/bin/env node
// Builds dist/index.cjs, the CommonJS entry behind `require("bert-ts")`: Node 20 before 20.19 cannot
// require() an ES module, so the library is bundled once more as CommonJS by esbuild (already in the
// tree for tsx). Dependencies stay external; import.meta.url becomes this file's URL, which
// src/package-root.ts walks up from, so paths to package.json and native/ hold in both builds.
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [join(root, "src", "index.ts")],
  outfile: join(root, "dist", "index.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  packages: "external",
  sourcemap: true,
  sourcesContent: true,
  define: { "import.meta.url": "__bertTsModuleUrl" },
  banner: { js: 'const __bertTsModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
  // An import.meta other than .url would be silently empty in CommonJS: make it an error instead.
  logOverride: { "empty-import-meta": "error" },
});
