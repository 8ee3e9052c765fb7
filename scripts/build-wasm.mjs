#!/usr/bin/env node
// Builds the WebAssembly kernels (src/backend/wasm.ts loads them) from the same C++ sources as the
// native addon, with emscripten (Debian package `emscripten`):
//   wasm/bert-ts-kernels.wasm          single-threaded, 128-bit SIMD
//   wasm/bert-ts-kernels-threads.wasm  the same over an imported shared memory, with a thread pool
//                                      of module instances (native/src/wasm/wasm_pool.cc)
//
// The module is STANDALONE_WASM with no entry point: emscripten's generated JS glue (too old for
// Node 20 in Debian's 3.1.6) is not used; src/backend/wasm.ts instantiates the .wasm itself, in Node
// and in browsers alike.
//
//   node scripts/build-wasm.mjs                  build (fails when emcc is missing)
//   node scripts/build-wasm.mjs --if-available   build when emcc exists, else say so and exit 0
//   node scripts/build-wasm.mjs --force          rebuild even when the output is up to date
// Env: EMCC (the compiler, default emcc on PATH); BT_WASM_CFLAGS (extra flags, e.g. tile sizes
// -DBT_WASM_MR=4 -DBT_WASM_NV=2, for tuning).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "native", "src");
const outDir = join(root, "wasm");
const args = process.argv.slice(2);
const ifAvailable = args.includes("--if-available");
const force = args.includes("--force") || !!process.env.BT_WASM_CFLAGS;

const emcc = process.env.EMCC || "emcc";
const probe = spawnSync(emcc, ["--version"], { encoding: "utf8" });
if (probe.error || probe.status !== 0) {
  const msg = `build-wasm: ${emcc} not found, so the WebAssembly kernels are not built (apt-get install emscripten)`;
  if (ifAvailable) {
    console.log(`${msg}; the wasm backend tests will be skipped.`);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

const common = [
  "-O3",
  "-msimd128",
  // Two roundings for a*b + c everywhere, as in the portable native build (SIMD128 has no FMA).
  "-ffp-contract=off",
  "-fno-math-errno",
  "-fno-exceptions",
  "-fno-rtti",
  "-std=gnu++17",
  "-Wall",
  "-Wno-unused-function",
  "--no-entry",
  "-sSTANDALONE_WASM=1",
  "-sALLOW_MEMORY_GROWTH=1",
  "-sINITIAL_MEMORY=16MB",
  "-sERROR_ON_UNDEFINED_SYMBOLS=1",
  ...(process.env.BT_WASM_CFLAGS ? process.env.BT_WASM_CFLAGS.split(/\s+/).filter(Boolean) : []),
];

// isa_lowp_generic.cc: ops.cc refers to the bf16/int8 kernels; the wasm backend computes in float32 only.
const kernelSources = ["kernels/ops.cc", "kernels/half_convert.cc", "kernels/isa_generic.cc", "kernels/isa_lowp_generic.cc", "wasm/exports.cc"].map((f) => join(src, f));

const targets = [
  { out: "bert-ts-kernels.wasm", sources: [...kernelSources, join(src, "wasm/serial_pool.cc")], flags: ["-sMAXIMUM_MEMORY=4GB"] },
  {
    out: "bert-ts-kernels-threads.wasm",
    sources: [...kernelSources, join(src, "wasm/wasm_pool.cc")],
    // Emscripten 3.1.6 has shared memory only with its pthreads runtime, which STANDALONE_WASM does
    // not support: the kernels need none of it (their pool is wasm_pool.cc), so the memory is made
    // shared at link time. Its libc is not built with atomics (--no-check-features); its malloc is
    // only entered by one thread at a time (wasm_pool.cc). 2 GiB maximum: a shared memory reserves
    // its maximum up front, and browsers refuse 4 GiB. Limits must match src/backend/wasm.ts.
    flags: ["-matomics", "-mbulk-memory", "-DBT_POOL_SCRATCH", "-sIMPORTED_MEMORY=1", "-sMAXIMUM_MEMORY=2GB", "-Wl,--shared-memory", "-Wl,--no-check-features"],
  },
];

function newestInput() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  for (const dir of ["kernels", "wasm"]) {
    for (const f of readdirSync(join(src, dir))) newest = Math.max(newest, statSync(join(src, dir, f)).mtimeMs);
  }
  return newest;
}

mkdirSync(outDir, { recursive: true });
const inputsTime = newestInput();
// Debian's emscripten cannot find its own acorn without this.
const env = { ...process.env, NODE_PATH: [process.env.NODE_PATH, "/usr/share/nodejs"].filter(Boolean).join(":") };
for (const t of targets) {
  const out = join(outDir, t.out);
  if (!force && existsSync(out) && statSync(out).mtimeMs >= inputsTime) {
    console.log(`build-wasm: ${relative(root, out)} is up to date`);
    continue;
  }
  const cmd = [...common, ...t.flags, ...t.sources, "-o", out];
  console.log(`build-wasm: ${emcc} ${cmd.map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(" ")}`);
  const r = spawnSync(emcc, cmd, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`build-wasm: emcc failed building ${t.out}`);
    process.exit(r.status ?? 1);
  }
  console.log(`build-wasm: wrote ${relative(root, out)} (${statSync(out).size} bytes)`);
}
