#!/usr/bin/env node
// Builds the native backend (native/, a Node addon) with node-gyp. It is the package's `install`
// script (which first tries the prebuilt binary shipped in native/prebuilds/ and compiles only when
// none loads), and `npm run build:native` runs it by hand (always compiling). It never fails the install: when the build
// fails it says what happened and what to do, and bert-ts runs on the TypeScript reference backend.
//
// node-gyp is npm's bundled copy (npm_config_node_gyp under npm, else found next to the npm that
// ships with this node). Node's headers come from npm's `nodedir` setting, else from the include/
// folder of this node's install prefix, so no download is needed.
// Env: BERT_TS_SKIP_NATIVE=1 skips the build; BERT_TS_NATIVE_VERBOSE=1 shows the compiler output.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findNodeGyp, localNodedir, nativeDir, root } from "./native-tools.mjs";

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

function nodedirArgs() {
  const dir = process.env.npm_config_nodedir ? undefined : localNodedir();
  return dir ? [`--nodedir=${dir}`] : [];
}

/** The prebuilt binary node-gyp-build would pick for this platform, if it loads here (a child process: a crash stays there). */
function loadablePrebuild() {
  const code =
    `const p = require("node-gyp-build").resolve(${JSON.stringify(nativeDir)}); const m = require(p); const i = m.info();` +
    `console.log(p + " (kernels: " + i.best + ")")`;
  const probe = spawnSync(process.execPath, ["-e", code], { cwd: root, encoding: "utf8", env: { ...process.env, PREBUILDS_ONLY: "1" } });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

if (process.env.BERT_TS_SKIP_NATIVE === "1") {
  log("BERT_TS_SKIP_NATIVE=1: not building the native backend");
  process.exit(0);
}
if (!existsSync(join(nativeDir, "binding.gyp"))) giveUp(`${nativeDir}/binding.gyp is missing`, "reinstall bert-ts");

// As the install script: a prebuilt binary that loads is used as it is (no compiler needed, nothing
// to allow); `npm run build:native` (--from-source) and BERT_TS_BUILD_FROM_SOURCE=1 always compile.
const fromSource = process.argv.includes("--from-source") || process.env.BERT_TS_BUILD_FROM_SOURCE === "1";
if (!fromSource) {
  const prebuilt = loadablePrebuild();
  if (prebuilt) {
    log(`using the prebuilt native backend ${prebuilt}; BERT_TS_BUILD_FROM_SOURCE=1 compiles it instead`);
    process.exit(0);
  }
}

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
