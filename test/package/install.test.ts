/**
 * The packed tarball as a user gets it: installed into an empty folder with install scripts
 * disabled (npm --ignore-scripts, as locked-down installs and npm's allowScripts do), it must still
 * run on the native backend — the prebuilt binary that `prepack` put in native/prebuilds — and
 * `require("bert-ts")` must work without require(esm) (Node 20 before 20.19 has none).
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, REPO_ROOT, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "minilm-l6-h384-random";
const skip =
  (existsSync(join(REPO_ROOT, "dist", "index.cjs")) ? false : "dist/ not built (npm run build)") ||
  (process.platform === "linux" && process.arch === "x64" ? false : "prebuilt binaries are made for linux-x64") ||
  skipUnlessModel(MINILM) ||
  skipUnlessGolden(`${MINILM}.json`);

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe("the packed package, installed with scripts disabled", { skip, timeout: 15 * 60_000 }, () => {
  let work = "";
  let app = "";
  let installed = "";

  before(() => {
    work = mkdtempSync(join(tmpdir(), "bert-ts-pack-"));
    // What `prepack` runs (it keeps an up-to-date binary); then pack without re-running the build.
    run(process.execPath, [join(REPO_ROOT, "scripts", "prebuild-native.mjs")], REPO_ROOT);
    const packed = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], REPO_ROOT);
    const tarball = join(work, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0].filename);
    app = join(work, "app");
    run("mkdir", ["-p", app], work);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, version: "1.0.0" }));
    // Dependencies come from npm's cache when `npm ci` has filled it.
    run("npm", ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);
    installed = join(app, "node_modules", "bert-ts");
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("ships a prebuilt linux-x64 binary and nothing was compiled", () => {
    assert.deepEqual(readdirSync(join(installed, "native", "prebuilds", "linux-x64")), ["node.glibc.node"]);
    assert.equal(existsSync(join(installed, "native", "build")), false, "the install script must not have run");
  });

  it("require() runs on the native backend and embeds as transformers does", () => {
    const golden = loadGolden(`${MINILM}.json`);
    const script = `
      const { SentenceEncoder, getBackend } = require("bert-ts");
      SentenceEncoder.load(${JSON.stringify(modelPath(MINILM))}).then(async (e) => {
        const v = await e.embed(${JSON.stringify(golden.inputs[0].input)});
        console.log(JSON.stringify({ backend: getBackend().name, vector: Array.from(v) }));
      });`;
    // --no-experimental-require-module: behave as Node 20 before 20.19, where require(esm) does not exist.
    const r = run(process.execPath, ["--no-experimental-require-module", "-e", script], app, { BERT_TS_BACKEND: "" });
    const out = JSON.parse(r.stdout) as { backend: string; vector: number[] };
    assert.match(out.backend, /^native /);
    assert.doesNotMatch(r.stderr, /reference backend/);
    assertClose(out.vector, golden.inputs[0].outputs.base.pooled.mean_l2_normalized, 1e-4, "embedding via require()");
  });

  it("import works too, and the bin runs", () => {
    const r = run(process.execPath, ["--input-type=module", "-e", 'import { getBackend } from "bert-ts"; console.log(getBackend().name)'], app);
    assert.match(r.stdout, /^native /);
    const v = run(join(app, "node_modules", ".bin", "bert-ts"), ["--version"], app);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it("without a usable binary it says so once, loudly, naming the fix", () => {
    rmSync(join(installed, "native", "prebuilds"), { recursive: true });
    const script = `
      const { getBackend } = require("bert-ts");
      const { Worker } = require("node:worker_threads");
      getBackend(); getBackend();
      const w = new Worker('require("bert-ts").getBackend()', { eval: true });
      w.on("exit", () => console.log(getBackend().constructor.name));`;
    const r = run(process.execPath, ["-e", script], app, { BERT_TS_BACKEND: "" });
    assert.equal(r.stdout.trim(), "ReferenceBackend");
    assert.equal(r.stderr.match(/WARNING: running on the TypeScript reference backend/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /npm rebuild bert-ts/);
    assert.match(r.stderr, /no native addon for linux-x64/);
  });
});
