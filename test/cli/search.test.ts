/** `bert-ts search` as a user runs it: rankings against brute force over PyTorch's vectors, and the corpus cache. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cosineSimilarity } from "../../src/pooling/similarity.js";
import { CORPUS_FILE, REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const SEQCLS = "bert-micro-seqcls-random";

function run(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const started = performance.now();
  const res = spawnSync(process.execPath, [BIN, ...args], { input: options.input, encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "", ...options.env } });
  return { ...res, ms: performance.now() - started };
}

function jsonl(stdout: string): any[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

/** Golden single-line inputs (no NUL, no newline) and their mean + L2 vectors. */
function goldenCorpus(): { text: string; vector: number[] }[] {
  return loadGolden(`${MINILM}.json`)
    .inputs.filter((x: any) => typeof x.input === "string" && x.input.trim() && !/[\n\r\0]/.test(x.input) && x.num_tokens_untruncated < 200)
    .map((x: any) => ({ text: x.input, vector: x.outputs.base.pooled.mean_l2_normalized }));
}

describe("bert-ts search", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  it("ranks like brute-force cosine over the reference vectors; corpus_id is the file line", () => {
    const corpus = goldenCorpus();
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-search-"));
    const file = join(dir, "corpus.txt");
    // A blank line first: ids still point at file lines (0-based), blank lines are not searched.
    writeFileSync(file, "\n" + corpus.map((c) => c.text).join("\n") + "\n");
    const queries = [corpus[1], corpus[4], corpus[corpus.length - 1]];
    const args = ["search", "--model", modelPath(MINILM), "--corpus", file, "-k", "5", "--format", "jsonl"];
    const res = run([...args, ...queries.flatMap((q) => ["--query", q.text])]);
    assert.equal(res.status, 0, res.stderr);
    const out = jsonl(res.stdout);
    assert.equal(out.length, queries.length);
    out.forEach((o, qi) => {
      assert.equal(o.query, queries[qi].text);
      const expected = corpus
        .map((c, i) => ({ i, score: cosineSimilarity(queries[qi].vector, c.vector) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5);
      assert.equal(o.results.length, 5);
      o.results.forEach((r: any, k: number) => {
        // Same score at each rank; the line named has that score (ties may swap places within 1e-4).
        assert.ok(Math.abs(r.score - expected[k].score) <= 1e-4, `query ${qi} rank ${k}: ${r.score} vs ${expected[k].score}`);
        const own = cosineSimilarity(queries[qi].vector, corpus[r.corpus_id - 1].vector);
        assert.ok(Math.abs(own - r.score) <= 1e-4, `query ${qi} rank ${k}: corpus_id ${r.corpus_id}`);
        assert.equal(r.text, corpus[r.corpus_id - 1].text);
      });
      assert.equal(o.results[0].text, queries[qi].text, "a corpus line as query finds itself first");
    });
  });

  it("caches the corpus vectors: a second search is a cache hit; editing the corpus or the pooling re-embeds", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-search-cache-"));
    const file = join(dir, "license.txt");
    const lines = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim()).slice(200, 260);
    writeFileSync(file, lines.join("\n") + "\n");
    // Lightly edited copies: case changed, trailing punctuation dropped.
    const picked = [3, 17, 42];
    const queries = picked.map((i, k) => {
      const q = lines[i].replace(/[.;:,]+$/, "");
      return k % 2 ? q.toUpperCase() : q[0].toLowerCase() + q.slice(1);
    });
    const args = ["search", "--model", modelPath(MINILM), "--corpus", file, "-k", "3", "--format", "jsonl", ...queries.flatMap((q) => ["-q", q])];

    const first = run(args);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /cache miss: embedded 60 corpus texts in ([\d.]+) s; saved to /);
    const cacheDir = `${file}.bert-ts-cache`;
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith(".bin")).length, 1);
    jsonl(first.stdout).forEach((o, k) => assert.equal(o.results[0].corpus_id, picked[k], `edited copy of line ${picked[k]}`));

    const second = run(args);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /cache hit: 60 corpus vectors read from /);
    // Same results (within float noise: another backend may have served the first run).
    jsonl(second.stdout).forEach((o, q) =>
      o.results.forEach((r: any, k: number) => assert.ok(Math.abs(r.score - jsonl(first.stdout)[q].results[k].score) <= 1e-5, `query ${q} rank ${k}`)),
    );
    // Work, not time: the first run embedded and saved the corpus, the second embedded nothing of it.
    assert.match(first.stderr, /; saved/);
    assert.doesNotMatch(second.stderr, /; saved/);

    const pooling = run([...args, "--pooling", "cls"]);
    assert.equal(pooling.status, 0, pooling.stderr);
    assert.match(pooling.stderr, /cache miss/);

    appendFileSync(file, "A brand new line about software freedom.\n");
    const edited = run(args);
    assert.equal(edited.status, 0, edited.stderr);
    assert.match(edited.stderr, /cache miss: embedded 61 corpus texts/);
    // Entries for the old corpus contents are removed; the new one hits next time.
    const manifests = readdirSync(cacheDir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(cacheDir, f), "utf8")));
    assert.equal(manifests.length, 1);
    assert.equal(manifests[0].corpus.entries, 61);
    assert.match(run(args).stderr, /cache hit: 61/);
    // The manifest stores the vectors' provenance; an entry claiming other weights is refused, not mixed in.
    const manifestFile = join(cacheDir, readdirSync(cacheDir).find((f) => f.endsWith(".json"))!);
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    assert.equal(manifest.provenance.weights_sha256, createHash("sha256").update(readFileSync(join(modelPath(MINILM), "model.safetensors"))).digest("hex"));
    assert.equal(manifest.provenance.pooling, "mean");
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, provenance: { ...manifest.provenance, weights_sha256: "0".repeat(64) } }));
    const refused = run(args);
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stderr, /holds vectors of another provenance \(weights_sha256: "0{64}" vs "[0-9a-f]{64}"\): not mixing them/);
    assert.match(refused.stderr, /cache miss: embedded 61 corpus texts/);
    assert.match(run(args).stderr, /cache hit: 61/, "the entry was rewritten with the right provenance");

    const off = run([...args, "--no-cache"]);
    assert.match(off.stderr, /cache off/);
  });
});

describe("bert-ts search corpus formats and errors", { skip: skipUnlessModel(SEQCLS) }, () => {
  const model = () => modelPath(SEQCLS);

  it("reads .jsonl objects and .csv columns with --field, queries from stdin and --input, and a readable list", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-search-fmt-"));
    const texts = ["the cat sat on the mat", "stock markets fell sharply today", "a recipe for lemon cake, with sugar", "rain is expected tomorrow"];
    writeFileSync(join(dir, "c.jsonl"), texts.map((t, i) => JSON.stringify({ id: i, body: t })).join("\n") + "\n");
    writeFileSync(join(dir, "c.csv"), "id,body\n" + texts.map((t, i) => `${i},"${t}"`).join("\n") + "\n");
    writeFileSync(join(dir, "q.txt"), `${texts[2]}\n${texts[0]}\n`);
    const fromJsonl = run(["search", "-m", model(), "--corpus", join(dir, "c.jsonl"), "--field", "body", "-k", "2", "--format", "jsonl"], { input: `${texts[2]}\n${texts[0]}\n` });
    assert.equal(fromJsonl.status, 0, fromJsonl.stderr);
    const a = jsonl(fromJsonl.stdout);
    assert.deepEqual(a.map((o) => o.results[0].corpus_id), [2, 0]);
    const fromCsv = run(["search", "-m", model(), "--corpus", join(dir, "c.csv"), "--field", "body", "-k", "2", "--format", "jsonl", "--input", join(dir, "q.txt")]);
    assert.equal(fromCsv.status, 0, fromCsv.stderr);
    assert.deepEqual(jsonl(fromCsv.stdout), a);
    const text = run(["search", "-m", model(), "--corpus", join(dir, "c.csv"), "--field", "body", "-k", "2", "--format", "text", texts[1]]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^query: "stock markets fell sharply today"\nrank\s+score\s+id\s+text\n\s+1\s+1\.0000\s+1\s+stock markets/);
  });

  it("caches elsewhere when the folder beside the corpus cannot be made", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-search-ro-"));
    const file = join(dir, "c.txt");
    writeFileSync(file, "one line\nanother line\n");
    writeFileSync(`${file}.bert-ts-cache`, "a file in the way"); // mkdir fails even for root
    const xdg = join(dir, "xdg");
    mkdirSync(xdg);
    const args = ["search", "-m", model(), "--corpus", file, "-q", "one line", "--format", "jsonl"];
    const first = run(args, { env: { XDG_CACHE_HOME: xdg } });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`saved to ${xdg}/bert-ts/search/`));
    assert.match(run(args, { env: { XDG_CACHE_HOME: xdg } }).stderr, /cache hit/);
    const explicit = join(dir, "explicit");
    assert.match(run([...args, "--cache-dir", explicit]).stderr, /cache miss/);
    assert.ok(existsSync(explicit));
  });

  it("explains what is wrong", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-search-err-"));
    const missing = run(["search", "-m", model(), "--corpus", join(dir, "nope.txt"), "-q", "x"]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /Corpus file not found: .*nope\.txt/);
    writeFileSync(join(dir, "c.csv"), "id,body\n1,hello\n");
    const column = run(["search", "-m", model(), "--corpus", join(dir, "c.csv"), "-q", "x"]);
    assert.match(column.stderr, /no column "text" \(columns: id, body\); choose one with --field/);
    writeFileSync(join(dir, "c.txt"), "hello\n");
    const noQuery = run(["search", "-m", model(), "--corpus", join(dir, "c.txt")], { input: "" });
    assert.notEqual(noQuery.status, 0);
    assert.match(noQuery.stderr, /No query/);
    const noCorpus = run(["search", "-q", "x"]);
    assert.notEqual(noCorpus.status, 0);
    assert.match(noCorpus.stderr, /--corpus/);
    const help = run(["search", "--help"]);
    assert.match(help.stdout, /Examples:/);
    assert.match(help.stdout, /corpus_id/);
  });
});
