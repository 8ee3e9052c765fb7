#!/usr/bin/env node
// Builds the native backend (native/, a Node addon) with node-gyp. It is the package's `install`
// script, and `npm run build:native` runs it by hand. It never fails the install: when the build
// fails it says what happened and what to do, and bert-ts runs on the TypeScript reference backend.
//
// node-gyp is npm's bundled copy (npm_config_node_gyp under npm, else found next to the npm that
// ships with this node). Node's headers come from npm's `nodedir` setting, else from the include/
// folder of this node's install prefix, so no download is needed.
// Env: BERT_TS_SKIP_NATIVE=1 skips the build; BERT_TS_NATIVE_VERBOSE=1 shows the compiler output.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const addon = join(nativeDir, "build", "Release", "bert_ts_native.node");
const log = (msg) => console.log(`bert-ts: ${msg}`);

function giveUp(what, fix) {
  console.warn(
    `\nbert-ts: the native backend was not built: ${what}\n` +
      `bert-ts: bert-ts still works, on the TypeScript reference backend (about 100x slower).\n` +
      `bert-ts: to get the native backend: ${fix}, then run \`npm run build:native\` in ${root}.\n`,
  );
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

if (process.env.BERT_TS_SKIP_NATIVE === "1") {
  log("BERT_TS_SKIP_NATIVE=1: not building the native backend");
  process.exit(0);
}
if (!existsSync(join(nativeDir, "binding.gyp"))) giveUp(`${nativeDir}/binding.gyp is missing`, "reinstall bert-ts");

const gyp = findNodeGyp();
if (!gyp) {
  giveUp(
    "node-gyp was not found (it normally comes with npm)",
    "install npm alongside node, or `npm install -g node-gyp`",
  );
}

log("building the native backend (node-gyp, C++17; about 10 s)...");
const verbose = process.env.BERT_TS_NATIVE_VERBOSE === "1";
const started = Date.now();
const res = spawnSync(process.execPath, [gyp, "rebuild", "--directory", nativeDir, "-j", "max", ...nodedirArgs()], {
  cwd: nativeDir,
  stdio: verbose ? "inherit" : "pipe",
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
});
if (res.error || res.status !== 0) {
  if (!verbose) {
    const out = `${res.stdout ?? ""}${res.stderr ?? ""}`.trim().split("\n");
    console.warn(out.slice(-40).join("\n"));
  }
  giveUp(
    res.error ? `node-gyp could not run (${res.error.message})` : `node-gyp exited with code ${res.status} (its last lines are above)`,
    "install a C++17 compiler (g++ >= 9 or clang++), make and python3 (Debian/Ubuntu: `apt-get install g++ make python3`)",
  );
}

// Check that the result loads in this node and say which kernels it will use.
const probe = spawnSync(
  process.execPath,
  ["-e", `const m = require(${JSON.stringify(addon)}); const i = m.info(); console.log(i.best + " (" + i.isas.join(", ") + " available)")`],
  { encoding: "utf8" },
);
if (probe.status !== 0) {
  giveUp(`the addon was built but does not load:\n${probe.stderr.trim()}`, "report this with the message above");
}
log(`native backend built in ${((Date.now() - started) / 1000).toFixed(1)} s; kernels: ${probe.stdout.trim()}`);
