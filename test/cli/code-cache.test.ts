/**
 * bin/bert-ts.js compiles the bundled CLI (dist/bin/cli.cjs) with V8's code cache kept in
 * <BERT_TS_CACHE>/code/, one file per command. The first run makes it, later runs use it and print
 * the same; a damaged file (a flipped bit, a cut file) or one V8 refuses (made for another source)
 * is ignored and rewritten; BERT_TS_CODE_CACHE=0 turns it off. The state each run found is read
 * from BERT_TS_TRACE_LOAD's "code-cache" line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Script } from "node:vm";
import { REPO_ROOT, modelPath, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const BUNDLE = join(REPO_ROOT, "dist", "bin", "cli.cjs");
const MODEL = "minilm-l6-h384-random";
const bundleCurrent = existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= statSync(join(REPO_ROOT, "dist", "cli", "main.js")).mtimeMs;
const skip = skipUnlessModel(MODEL) || (bundleCurrent ? false : "dist/bin/cli.cjs not built or older than dist/ (npm run build)");

describe("the CLI bundle's code cache", { skip }, () => {
  const cache = mkdtempSync(join(tmpdir(), "bert-ts-codecache-"));
  const codeDir = join(cache, "code");

  function run(args: string[], extra: NodeJS.ProcessEnv = {}): { status: string; stdout: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, BERT_TS_CACHE: cache, BERT_TS_TRACE_LOAD: "1", BERT_TS_CODE_CACHE: undefined, BERT_TS_CLI_UNBUNDLED: undefined, ...extra };
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
    const status = /^bert-ts: load-trace code-cache (\S+)$/m.exec(r.stderr)?.[1];
    assert.ok(status, `no code-cache line in:\n${r.stderr}`);
    return { status, stdout: r.stdout };
  }
  const tokenize = ["tokenize", "-m", modelPath(MODEL), "--format", "jsonl", "unaffable words"];
  const files = (command: string) => (existsSync(codeDir) ? readdirSync(codeDir).filter((f) => f.startsWith(`cli-${command}-`)) : []);

  it("is made by the first run of a command and used by the next, which prints the same", () => {
    const first = run(tokenize);
    assert.equal(first.status, "missing");
    assert.equal(files("tokenize").length, 1);
    const second = run(tokenize);
    assert.equal(second.status, "hit");
    assert.equal(second.stdout, first.stdout);
    assert.match(first.stdout, /"tokens":\["\[CLS\]"/);
  });

  it("ignores and rewrites a file with one flipped bit, and one cut short", () => {
    const expected = run(tokenize).stdout;
    for (const damage of [(b: Buffer) => ((b[Math.floor(b.length / 2)] ^= 0x04), b), (b: Buffer) => b.subarray(0, b.length - 100)]) {
      const [name] = files("tokenize");
      writeFileSync(join(codeDir, name), damage(readFileSync(join(codeDir, name))));
      const damaged = run(tokenize);
      assert.equal(damaged.status, "corrupt");
      assert.equal(damaged.stdout, expected);
      assert.equal(run(tokenize).status, "hit");
    }
  });

  it("rewrites a file V8 refuses: sound (length and checksum right) but made for another script", () => {
    const [tok] = files("tokenize");
    const data = new Script("(function () { return 42; })").createCachedData();
    const head = Buffer.alloc(16);
    head.writeUInt32LE(0x43435442, 0); // "BTCC"
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(data.length, 8);
    head.writeUInt32LE(createHash("sha256").update(data).digest().readUInt32LE(0), 12);
    writeFileSync(join(codeDir, tok), Buffer.concat([head, data]));
    assert.equal(run(tokenize).status, "rejected");
    assert.equal(run(tokenize).status, "hit");
  });

  it("keeps no file with BERT_TS_CODE_CACHE=0, and one file per command and bundle", () => {
    const before = files("nsp").length;
    assert.equal(run(["nsp", "--help"], { BERT_TS_CODE_CACHE: "0" }).status, "off");
    assert.equal(files("nsp").length, before);
    assert.equal(files("tokenize").length, 1);
  });
});
