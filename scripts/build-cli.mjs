#!/usr/bin/env node
// Builds dist/bin/cli.cjs, the `bert-ts` command line as one CommonJS file (esbuild, already in the
// tree for tsx and the CommonJS library build), commander and csv-parse included. Node resolves,
// reads, compiles and links each ES module on its own: `embed` imported ~130 of them (or, bundled
// as ES module chunks, 15 chunks plus commander's 7 files through the ESM loader), ~90 ms of CPU of
// a ~300 ms start. One script compiles in one go, and bin/bert-ts.js keeps V8's code cache for it
// (the compiled functions, made after a run) in the bert-ts cache folder, so later starts skip
// most of the compiling as well. Commands stay lazy: esbuild initialises a module only when its
// import() runs. bin/bert-ts.js runs this file when it is at least as new as dist/cli/main.js,
// else the unbundled tree (a tsc-only build never runs stale code).
//
// It also writes dist/bin/help.json: the top-level `--help` as commander renders it at every terminal
// width from 1 to 400 columns (deduplicated), from this very bundle's command table. bin/bert-ts.js
// prints it for `bert-ts --help` without loading commander or the CLI (~40 ms of a ~110 ms start);
// test/cli/help-text.test.ts checks it against the live program, so it cannot drift unnoticed.
//
// dist/bin/ sits at the same depth as dist/backend/, so import.meta.url-relative paths (the wasm
// kernels at ../../wasm/) still point at the package's files; import.meta.url becomes this file's
// URL, as in scripts/build-cjs.mjs. `serve` stays unbundled (an ES module import at run time): its
// worker threads load dist/server/worker.js by a path relative to the server's own module. Packages
// with native parts or only some commands use (SQLite, PostgreSQL, fastify, the progress bar) stay
// external too.
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bin");
rmSync(outdir, { recursive: true, force: true });

/**
 * The serve command is imported from the unbundled tree (see above), the progress bar from its
 * package. Both are import()s at run time, which V8 refuses in a vm.Script (bin/bert-ts.js compiles
 * the bundle as one, for the code cache) without --experimental-vm-modules on Node 20: they are
 * marked here and become calls of __bertTsImport, which bin/bert-ts.js passes in.
 */
const EXTERNAL_IMPORT = "bert-ts-external-import:";
const externalImports = {
  name: "external-imports",
  setup(b) {
    b.onResolve({ filter: /^\.\/serve\.js$/ }, (args) =>
      args.importer.endsWith(join("cli", "commands", "index.ts")) ? { path: `${EXTERNAL_IMPORT}../cli/commands/serve.js`, external: true } : undefined,
    );
    b.onResolve({ filter: /^cli-progress$/ }, (args) => (args.kind === "dynamic-import" ? { path: `${EXTERNAL_IMPORT}cli-progress`, external: true } : undefined));
  },
};

/**
 * commander requires node:child_process at its top level, for executable subcommands bert-ts does
 * not have; loading it (with net and dgram) cost ~6 ms of every start. Its require is served a
 * stand-in that loads the real module on first use.
 */
const LAZY_CHILD_PROCESS = "bert-ts-lazy:child_process";
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes(`${join("node_modules", "commander")}`) ? { path: LAZY_CHILD_PROCESS, namespace: "bert-ts-lazy" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "bert-ts-lazy" }, () => ({
      contents: 'let real;\nmodule.exports = new Proxy({}, { get: (_, key) => (real ??= require("node:child_process"))[key] });\n',
      loader: "js",
    }));
  },
};

await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  outfile: join(outdir, "cli.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["better-sqlite3", "pg", "fastify", "@fastify/cors", "prom-client", "cli-progress", "node-gyp-build", "tsx", "tsx/*"],
  define: { "import.meta.url": "__bertTsModuleUrl" },
  banner: {
    js: [
      'const __bertTsModuleUrl = require("node:url").pathToFileURL(__filename).href;',
      // Loaded by require() (this script's help rendering, tests) there is no __bertTsImport: import() works there.
      'const __bertTsImportHere = typeof __bertTsImport === "function" ? __bertTsImport : (specifier) => import(specifier);',
    ].join("\n"),
  },
  // Whitespace and syntax only: names stay (stack traces, commander's help), a third less to read and hash.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  sourcesContent: true,
  plugins: [externalImports, lazyChildProcess],
  logLevel: "warning",
  // An import.meta other than .url would be silently empty in CommonJS: make it an error instead.
  logOverride: { "empty-import-meta": "error" },
});

const bundlePath = join(outdir, "cli.cjs");
const marked = readFileSync(bundlePath, "utf8");
const rewritten = marked.replaceAll(`import("${EXTERNAL_IMPORT}`, '__bertTsImportHere("');
if (rewritten.includes(EXTERNAL_IMPORT)) throw new Error(`build-cli: a marked import in ${bundlePath} was not rewritten`);
writeFileSync(bundlePath, rewritten);

/** The top-level help at `width` columns, through the bundle's own main(). */
export async function renderHelp(main, width) {
  let text = "";
  await main(["node", "bert-ts", "--help"], { writeOut: (s) => void (text += s), writeErr: (s) => void (text += s), getOutHelpWidth: () => width, getErrHelpWidth: () => width });
  return text;
}

export const HELP_WIDTHS = { min: 1, max: 400 };

const { main, COMMANDS } = createRequire(import.meta.url)(bundlePath);
// bin/bert-ts.js names a command's code cache file by the command; any other word shares one.
writeFileSync(join(outdir, "commands.json"), JSON.stringify(COMMANDS.map((c) => c.name)));
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
