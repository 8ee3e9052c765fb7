#!/usr/bin/env node
// Builds dist/bin/, the `bert-ts` command line as a few bundled files (esbuild, already in the tree
// for tsx and the CommonJS build). Node resolves, reads and links each ES module on its own; the CLI
// imports ~130 of them for `embed`, which cost ~50 ms of CPU per start. Bundled, each command is one
// chunk (code splitting keeps the lazy command table lazy). bin/bert-ts.js runs this bundle when it is
// at least as new as dist/cli/main.js, else the unbundled tree (a tsc-only build never runs stale code).
//
// It also writes dist/bin/help.json: the top-level `--help` as commander renders it at every terminal
// width from 1 to 400 columns (deduplicated), from this very bundle's command table. bin/bert-ts.js
// prints it for `bert-ts --help` without loading commander or the CLI (~40 ms of a ~110 ms start);
// test/cli/help-text.test.ts checks it against the live program, so it cannot drift unnoticed.
//
// dist/bin/ sits at the same depth as dist/backend/, so import.meta.url-relative paths (the wasm
// kernels at ../../wasm/) still point at the package's files. `serve` stays unbundled: its worker
// threads load dist/server/worker.js by a path relative to the server's own module.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bin");
rmSync(outdir, { recursive: true, force: true });

/** The serve command is imported from the unbundled tree (see above). */
const serveFromDist = {
  name: "serve-from-dist",
  setup(b) {
    b.onResolve({ filter: /^\.\/serve\.js$/ }, (args) =>
      args.importer.endsWith(join("cli", "commands", "index.ts")) ? { path: "../cli/commands/serve.js", external: true } : undefined,
    );
  },
};

await build({
  entryPoints: { main: join(root, "src", "cli", "main.ts") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  sourcesContent: true,
  plugins: [serveFromDist],
  logLevel: "warning",
});

/** The top-level help at `width` columns, through the bundle's own main(). */
export async function renderHelp(main, width) {
  let text = "";
  await main(["node", "bert-ts", "--help"], { writeOut: (s) => void (text += s), writeErr: (s) => void (text += s), getOutHelpWidth: () => width, getErrHelpWidth: () => width });
  return text;
}

export const HELP_WIDTHS = { min: 1, max: 400 };

const { main } = await import(pathToFileURL(join(outdir, "main.js")).href);
const texts = [];
const byWidth = [];
for (let w = HELP_WIDTHS.min; w <= HELP_WIDTHS.max; w++) {
  const text = await renderHelp(main, w);
  let i = texts.indexOf(text);
  if (i < 0) i = texts.push(text) - 1;
  byWidth.push(i);
}
process.exitCode = 0; // main() sets it from commander's help exit
writeFileSync(join(outdir, "help.json"), JSON.stringify({ minWidth: HELP_WIDTHS.min, byWidth, texts }));
