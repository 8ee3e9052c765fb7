#!/usr/bin/env node
// Builds the browser bundle (dist/browser/): bert-ts.js (the `browser` export of package.json) and
// bert-ts-worker.js (the Worker that WorkerSentenceEncoder starts), ES modules with no Node built-ins.
// The Node modules that touch the file system, the hub or the native addon are swapped for their
// src/browser/ counterparts here — the one place the platform is chosen — and esbuild's
// platform "browser" fails the build if any node: import is still reachable.
import { build } from "esbuild";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const out = join(root, "dist", "browser");

/** Node module (under src/) → its browser counterpart. */
const SWAPS = {
  "io/host.ts": "browser/host.ts",
  "io/hub.ts": "browser/hub.ts",
  "io/file-digest.ts": "browser/file-digest.ts",
  "io/packed-weight-cache.ts": "browser/packed-weight-cache.ts",
  "io/tokenizer-json-cache.ts": "browser/tokenizer-json-cache.ts",
  "io/load-trace.ts": "browser/load-trace.ts",
  "backend/index.ts": "browser/backend.ts",
};
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;

const browserSwaps = {
  name: "bert-ts-browser-swaps",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts"));
      const rel = target.slice(src.length + 1);
      if (target.startsWith(src + "/") && SWAPS[rel]) return { path: join(src, SWAPS[rel]) };
      // version.ts reads package.json from disk: the bundle gets the version as a constant.
      if (rel === "version.ts") return { path: "version", namespace: "bert-ts-version" };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "bert-ts-version" }, () => ({ contents: `export const VERSION = ${JSON.stringify(version)};`, loader: "js" }));
  },
};

export async function buildBrowser({ minify = true } = {}) {
  const result = await build({
    entryPoints: { "bert-ts": join(src, "browser.ts"), "bert-ts-worker": join(src, "browser", "worker.ts") },
    outdir: out,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify,
    sourcemap: true,
    metafile: true,
    plugins: [browserSwaps],
    logLevel: "warning",
  });
  // The kernels sit beside the bundle (src/browser/backend.ts loads them relative to it).
  const kernels = [];
  for (const name of ["bert-ts-kernels.wasm", "bert-ts-kernels-threads.wasm"]) {
    if (!existsSync(join(root, "wasm", name))) continue;
    copyFileSync(join(root, "wasm", name), join(out, name));
    kernels.push(name);
  }
  if (kernels.length === 0) console.warn("build-browser: wasm/*.wasm not built (npm run build:wasm); the bundle falls back to the reference backend");
  const sizes = {};
  for (const name of ["bert-ts.js", "bert-ts-worker.js", ...kernels]) {
    const bytes = readFileSync(join(out, name));
    sizes[name] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  return { result, sizes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { sizes } = await buildBrowser({ minify: !process.argv.includes("--no-minify") });
  for (const [name, s] of Object.entries(sizes)) console.log(`dist/browser/${name}: ${(s.bytes / 1024).toFixed(1)} KiB, ${(s.gzip / 1024).toFixed(1)} KiB gzip`);
}
