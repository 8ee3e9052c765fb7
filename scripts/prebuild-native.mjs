#!/usr/bin/env node
// Builds the prebuilt native binary that `npm pack` ships (the package's `prepack` script), with
// prebuildify: one N-API build per platform-arch, native/prebuilds/<platform>-<arch>/node.<libc>.node,
// which node-gyp-build finds at run time, so installs with scripts disabled still get the native
// backend. N-API is ABI-stable, so this node's own headers serve every node >= 20 (no download).
// Release tarballs are packed on linux-x64; packing elsewhere ships that platform's binary instead.
//
// An up-to-date binary (newer than every file under native/src and binding.gyp) is kept, and an
// up-to-date local build is shipped as it is; --force rebuilds with prebuildify. Env: BERT_TS_SKIP_PREBUILD=1 packs without one (installs then compile from source).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { findNodeGyp, localNodedir, nativeDir } from "./native-tools.mjs";

const log = (msg) => console.error(`bert-ts prebuild: ${msg}`);
const fail = (msg) => {
  console.error(`bert-ts prebuild: ${msg}`);
  process.exit(1);
};

if (process.env.BERT_TS_SKIP_PREBUILD === "1") {
  log("BERT_TS_SKIP_PREBUILD=1: packing without a prebuilt binary");
  process.exit(0);
}

const libc = process.platform === "linux" ? (process.report?.getReport().header.glibcVersionRuntime ? "glibc" : "musl") : undefined;
const outDir = join(nativeDir, "prebuilds", `${process.platform}-${process.arch}`);
// prebuildify names N-API builds by runtime and libc only (node-gyp-build then accepts them on any node ABI).
const outFile = join(outDir, `node${libc ? `.${libc}` : ""}.node`);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const sourcesTime = Math.max(newestSource(join(nativeDir, "src")), statSync(join(nativeDir, "binding.gyp")).mtimeMs);
if (!process.argv.includes("--force") && existsSync(outFile) && statSync(outFile).mtimeMs > sourcesTime) {
  log(`${outFile} is up to date`);
  process.exit(0);
}

// A local build newer than the sources came from the same recipe (node-gyp, binding.gyp, N-API):
// ship it (stripped) rather than compile again — a rebuild would also pull native/build out from
// under anything using it meanwhile (a test run). --force always rebuilds with prebuildify.
const localBuild = join(nativeDir, "build", "Release", "bert_ts_native.node");
if (!process.argv.includes("--force") && existsSync(localBuild) && statSync(localBuild).mtimeMs > sourcesTime) {
  mkdirSync(outDir, { recursive: true });
  copyFileSync(localBuild, outFile);
  spawnSync("strip", ["--strip-unneeded", outFile], { stdio: "ignore" }); // as prebuildify --strip; optional
  const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(outFile)}).info()`], { encoding: "utf8" });
  if (check.status !== 0) fail(`${outFile} (from ${localBuild}) does not load: ${check.stderr.trim()}`);
  log(`${outFile} taken from the up-to-date local build ${localBuild}`);
  process.exit(0);
}

const gyp = findNodeGyp();
if (!gyp) fail("node-gyp was not found (it comes with npm)");
const nodedir = localNodedir();
const prebuildify = createRequire(import.meta.url).resolve("prebuildify/bin.js");
const args = [prebuildify, "--napi", "--strip", `--target=${process.versions.node}`, ...(libc ? ["--tag-libc"] : [])];
log(`building ${outFile} with prebuildify (N-API, node-gyp, C++17; a minute or two)...`);
const res = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    ...process.env,
    PREBUILD_NODE_GYP: gyp,
    // node-gyp reads npm_config_nodedir: the headers of this node, not a download.
    ...(nodedir ? { npm_config_nodedir: nodedir } : {}),
    npm_config_jobs: "max",
  },
});
if (res.status !== 0) fail(`prebuildify exited with ${res.status ?? res.signal}`);
if (!existsSync(outFile)) fail(`prebuildify finished but ${outFile} is not there`);

// prebuildify moves node-gyp's output into prebuilds/: put the (identical) addon back, so packing
// leaves a developer's local build where the tests and node-gyp-build look for it.
mkdirSync(join(nativeDir, "build", "Release"), { recursive: true });
copyFileSync(outFile, localBuild);

const probe = spawnSync(process.execPath, ["-e", `console.log(require(${JSON.stringify(outFile)}).info().best)`], { encoding: "utf8" });
if (probe.status !== 0) fail(`${outFile} does not load: ${probe.stderr.trim()}`);
log(`built ${outFile} (${(statSync(outFile).size / 1024).toFixed(0)} KiB; kernels here: ${probe.stdout.trim()})`);
