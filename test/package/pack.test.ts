/**
 * What `npm pack` ships: the compiled library with self-contained source maps, the CLI, and the
 * addon's sources and build recipe — never build leftovers (native/build, gyp's node_modules).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";

const skip = existsSync(join(REPO_ROOT, "dist", "index.js.map")) ? false : "dist/ not built (run npx tsc -p tsconfig.json)";

test("npm pack ships dist, bin and native sources, and no build leftovers", { skip }, () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  for (const needed of ["dist/index.js", "dist/index.d.ts", "bin/bert-ts.js", "native/binding.gyp", "native/src/napi/addon.cc", "scripts/build-native.mjs"]) {
    assert.ok(files.includes(needed), `${needed} is missing from the package`);
  }
  // The WebAssembly kernels ship built (users need no emscripten); here only when this tree built them.
  if (existsSync(join(REPO_ROOT, "wasm", "bert-ts-kernels.wasm"))) assert.ok(files.includes("wasm/bert-ts-kernels.wasm"), "the wasm kernels are missing from the package");
  const leftovers = files.filter((f) => /^native\/(build|node_modules)\/|\.mk$|^test\/|^bench\//.test(f));
  assert.deepEqual(leftovers, []);
});

test("source maps carry their sources (src/ is not shipped)", { skip }, () => {
  const map = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "index.js.map"), "utf8")) as { sources: string[]; sourcesContent?: string[] };
  assert.equal(map.sourcesContent?.length, map.sources.length);
  assert.ok(map.sourcesContent!.every((s) => typeof s === "string" && s.length > 0));
});
