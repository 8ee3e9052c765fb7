/**
 * `bert-ts index` into a SQLite store, as a user runs it (spawned processes): vectors equal to
 * `bert-ts embed` bit for bit and to PyTorch within 1e-4; only changed documents re-embedded;
 * --prune; a SIGKILLed run resumes with nothing lost, duplicated or half-written; foreign and
 * damaged files refused untouched; another space refused; search equals brute-force cosine.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type BetterSqlite3 from "better-sqlite3";
import { SqliteStore } from "../../src/stores/sqlite-store.js";
import { CORPUS_FILE, REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const skip = skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`);

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, ...env } });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "bert-ts-index-"));
}

function corpusLines(n: number, from = 0): string[] {
  return readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim()).slice(from, from + n);
}

/** Vectors as `bert-ts embed` prints them (JSONL floats round-trip float32 exactly). */
function embedWithCli(texts: string[]): Float32Array[] {
  const dir = tempDir();
  const file = join(dir, "in.txt");
  writeFileSync(file, texts.join("\n") + "\n");
  const r = run(["embed", "--model", modelPath(MINILM), "--input", file, "--format", "jsonl"]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => Float32Array.from(JSON.parse(l).embedding as number[]));
}

async function storedVectors(path: string): Promise<Map<string, { vectors: Float32Array[]; text: string }>> {
  const db = new (createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3)(path, { readonly: true });
  const docs = db.prepare("SELECT id, text, state FROM documents").all() as { id: string; text: string; state: string }[];
  db.close();
  const store = SqliteStore.open(path);
  const out = new Map<string, { vectors: Float32Array[]; text: string }>();
  for (const d of docs) out.set(d.id, { vectors: (await store.vectorsOf(d.id)).map((v) => v.vector), text: d.text });
  await store.close();
  return out;
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("bert-ts index (SQLite)", { skip }, () => {
  it("stores PyTorch's vectors (within 1e-4) and exactly what bert-ts embed gives, with provenance", async () => {
    const golden = (loadGolden(`${MINILM}.json`).inputs as any[]).filter(
      (x) => typeof x.input === "string" && x.input.trim() && !/[\n\r\u2028\u2029\u0085]/.test(x.input) && !x.truncated && x.num_tokens_untruncated <= 256,
    );
    const dir = tempDir();
    const file = join(dir, "docs.jsonl");
    writeFileSync(file, golden.map((x, i) => JSON.stringify({ id: `g${i}`, text: x.input })).join("\n") + "\n");
    const store = join(dir, "store.sqlite");
    const r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", store]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${golden.length} new, 0 changed, 0 unchanged`));
    const stored = await storedVectors(store);
    assert.equal(stored.size, golden.length);
    const cli = embedWithCli(golden.map((x) => x.input));
    golden.forEach((x, i) => {
      const doc = stored.get(`g${i}`)!;
      assert.equal(doc.vectors.length, 1);
      assert.deepEqual(doc.vectors[0], cli[i], `g${i} differs from bert-ts embed`);
      const ref = x.outputs.base.pooled.mean_l2_normalized as number[];
      const worst = Math.max(...ref.map((v, c) => Math.abs(v - doc.vectors[0][c])));
      assert.ok(worst < 1e-4, `g${i}: max |diff| ${worst} from PyTorch`);
    });
    const s = SqliteStore.open(store);
    const status = await s.status();
    await s.close();
    assert.equal(status.done, golden.length);
    assert.equal(status.space?.pooling, "mean");
    assert.equal(status.space?.normalize, true);
    assert.match(status.space?.weightsSha256 ?? "", /^[0-9a-f]{64}$/);
    const db = new (createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3)(store, { readonly: true });
    const prov = JSON.parse((db.prepare("SELECT json FROM provenance").get() as { json: string }).json);
    db.close();
    assert.equal(prov.weights_sha256, createHash("sha256").update(readFileSync(join(modelPath(MINILM), "model.safetensors"))).digest("hex"));
    assert.equal(status.space?.weightsSha256, prov.weights_sha256);
    assert.equal(prov.architecture, "BertModel");
    assert.equal(prov.bert_ts, JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
    // The same description `embed --provenance` gives (the per-input tokens/truncated are per vector in the store).
    const embedded = spawnSync(process.execPath, [BIN, "embed", "--model", modelPath(MINILM), "--provenance", "--format", "jsonl", golden[0].input], { encoding: "utf8" });
    const { tokens: _t, truncated: _tr, windows: _w, ...constant } = JSON.parse(embedded.stdout.trim()).provenance;
    assert.deepEqual(prov, constant);
  });

  it("re-embeds only new and changed documents; --prune removes the missing ones", async () => {
    const dir = tempDir();
    const file = join(dir, "c.txt");
    const lines = corpusLines(40);
    writeFileSync(file, lines.join("\n") + "\n");
    const store = join(dir, "s.sqlite");
    let r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", store]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /embedded 40 documents/);
    // Edit lines 3 and 7, blank line 10 (removed), add two lines.
    const edited = [...lines];
    edited[2] = "An edited third line.";
    edited[6] = "Another edited line, the seventh.";
    edited[9] = "";
    edited.push("A new line at the end.", "And one more.");
    writeFileSync(file, edited.join("\n") + "\n");
    r = run(["index", "--input", file, "--store", store, "--prune"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /2 new, 2 changed, 37 unchanged, 1 removed/);
    assert.match(r.stderr, /embedded 4 documents/);
    const stored = await storedVectors(store);
    assert.equal(stored.size, 41);
    assert.equal(stored.has(`${file}:10`), false);
    const cli = embedWithCli([edited[2], edited[6], edited[40], edited[41]]);
    assert.deepEqual(stored.get(`${file}:3`)!.vectors[0], cli[0]);
    assert.deepEqual(stored.get(`${file}:7`)!.vectors[0], cli[1]);
    assert.deepEqual(stored.get(`${file}:41`)!.vectors[0], cli[2]);
    assert.deepEqual(stored.get(`${file}:42`)!.vectors[0], cli[3]);
  });

  it("a run killed with SIGKILL mid-batch resumes: every document once, whole, equal to embed", async () => {
    const dir = tempDir();
    const file = join(dir, "c.txt");
    const lines = corpusLines(96, 100);
    writeFileSync(file, lines.join("\n") + "\n");
    const store = join(dir, "s.sqlite");
    // Each batch waits 400 ms between embedding and commit, so the kill lands inside a batch.
    const child = spawn(process.execPath, [BIN, "index", "--model", modelPath(MINILM), "--input", file, "--store", store, "--batch-size", "8"], {
      env: { ...process.env, BERT_TS_TEST_PAUSE_BEFORE_COMMIT_MS: "400" },
      stdio: "ignore",
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    // Kill once a few batches are committed.
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      let done = 0;
      try {
        const s = SqliteStore.open(store);
        done = (await s.status()).done;
        await s.close();
      } catch {
        /* not created yet */
      }
      if (done >= 24) break;
    }
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    let stored = await storedVectors(store);
    const partial = [...stored.values()].filter((d) => d.vectors.length > 0).length;
    assert.ok(partial >= 24 && partial < 96, `expected an interrupted run, found ${partial} of 96 documents embedded`);
    for (const d of stored.values()) assert.ok(d.vectors.length <= 1);
    const r = run(["index", "--input", file, "--store", store]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`embedded ${96 - partial} documents`));
    stored = await storedVectors(store);
    assert.equal(stored.size, 96);
    const cli = embedWithCli(lines);
    lines.forEach((_, i) => {
      const doc = stored.get(`${file}:${i + 1}`)!;
      assert.equal(doc.vectors.length, 1, `line ${i + 1}`);
      assert.deepEqual(doc.vectors[0], cli[i], `line ${i + 1}`);
    });
  });

  it("refuses a foreign SQLite database and a non-SQLite file, leaving both untouched", () => {
    const dir = tempDir();
    const foreign = join(dir, "app.db");
    const db = new (createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3)(foreign);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')");
    db.close();
    const junk = join(dir, "notes.sqlite");
    writeFileSync(junk, "these are my notes, not a database\n".repeat(200));
    const input = join(dir, "c.txt");
    writeFileSync(input, "one\ntwo\n");
    // A bert-ts store whose pages were overwritten in the middle.
    const damaged = join(dir, "damaged.sqlite");
    assert.equal(run(["index", "--model", modelPath(MINILM), "--input", input, "--store", damaged]).status, 0);
    const bytes = readFileSync(damaged);
    bytes.fill(0x5a, 4096 + 100, bytes.length - 100);
    writeFileSync(damaged, bytes);
    for (const [path, message] of [
      [foreign, /another application \(tables: users\).*not modified/],
      [junk, /not a usable SQLite store.*not modified/],
      [damaged, /(damaged|not a usable) SQLite .*not modified/],
    ] as const) {
      const before = sha256File(path);
      const r = run(["index", "--model", modelPath(MINILM), "--input", input, "--store", path]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, message);
      assert.equal(sha256File(path), before, `${path} was modified`);
    }
  });

  it("refuses vectors or queries of another pooling; search --store equals brute-force cosine", async () => {
    const dir = tempDir();
    const file = join(dir, "c.txt");
    const lines = corpusLines(120, 300);
    writeFileSync(file, lines.join("\n") + "\n");
    const store = join(dir, "s.sqlite");
    let r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", store]);
    assert.equal(r.status, 0, r.stderr);
    r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", store, "--pooling", "cls"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refusing to mix them:\n\s+pooling: "mean" in the store, "cls" asked/);
    r = run(["search", "--store", store, "-q", "x", "--pooling", "max"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pooling: "mean" in the store, "max" asked/);

    const queries = ["termination of the license", "warranty disclaimer", lines[17]];
    r = run(["search", "--store", store, "-k", "7", "--format", "jsonl", ...queries.flatMap((q) => ["-q", q])]);
    assert.equal(r.status, 0, r.stderr);
    const hits = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const stored = await storedVectors(store);
    const queryVectors = embedWithCli(queries);
    queries.forEach((q, qi) => {
      const brute = [...stored.entries()]
        .map(([id, d]) => ({ id, score: cosine64(queryVectors[qi], d.vectors[0]) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 7);
      const got = hits.filter((h) => h.query === q);
      assert.deepEqual(got.map((h) => h.rank), [1, 2, 3, 4, 5, 6, 7]);
      got.forEach((h, k) => {
        assert.ok(Math.abs(h.score - brute[k].score) < 1e-6, `${q} #${k + 1}: ${h.score} vs ${brute[k].score}`);
        assert.equal(stored.get(h.id)!.text, h.text);
      });
      // Ties (duplicate sentences) may order differently; the score lists must match.
      assert.deepEqual(new Set(got.filter((h) => h.score > brute[6].score + 1e-6).map((h) => h.id)), new Set(brute.filter((b) => b.score > brute[6].score + 1e-6).map((b) => b.id)));
    });
    assert.equal(hits.find((h) => h.query === lines[17])!.text, lines[17]);
  });

  it("chunk mode stores every window with its character span", async () => {
    const dir = tempDir();
    const docs = join(dir, "docs");
    mkdirSync(docs);
    const long = corpusLines(60, 500).join(" ");
    writeFileSync(join(docs, "long.txt"), long);
    writeFileSync(join(docs, "short.md"), "A short note.");
    const store = join(dir, "s.sqlite");
    const r = run(["index", "--model", modelPath(MINILM), "--input", docs, "--store", store, "--long-inputs", "chunk", "--max-length", "64", "--chunk-stride", "16"]);
    assert.equal(r.status, 0, r.stderr);
    const s = SqliteStore.open(store);
    const windows = await s.vectorsOf("long.txt");
    const short = await s.vectorsOf("short.md");
    await s.close();
    assert.equal(short.length, 1);
    assert.deepEqual([short[0].start, short[0].end], [0, "A short note.".length]);
    assert.ok(windows.length > 5, `${windows.length} windows`);
    windows.forEach((w, k) => {
      assert.equal(w.window, k);
      assert.ok(w.tokenCount <= 64);
      assert.ok(w.start >= 0 && w.end <= long.length && w.start < w.end);
      if (k > 0) assert.ok(w.start > windows[k - 1].start && w.start < windows[k - 1].end, "windows advance and overlap");
    });
    assert.equal(windows[0].start, 0);
    assert.equal(windows[windows.length - 1].end, long.length);
    const norms = windows.map((w) => Math.hypot(...w.vector));
    for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5, "window vectors are normalised like the model's");
  });
});

function cosine64(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

describe("SqliteStore search", () => {
  const space = {
    model: "t",
    weightsSha256: "0".repeat(64),
    pooling: "mean",
    layers: "last",
    normalize: false,
    dimension: 3,
    maxLength: 8,
    longInputs: "truncate" as const,
    chunkStride: null,
    dtype: "float32",
  };
  const provenance = { model: "t", weights_sha256: space.weightsSha256, architecture: "x", dtype: "float32", kernels: "x", bert_ts: "0" };

  it("sees vectors written after an earlier search (its in-memory copy is refreshed), best first, ties in store order", async () => {
    const store = SqliteStore.open(join(tempDir(), "s.sqlite"));
    await store.bindSpace(space, provenance);
    const run = await store.beginRun();
    await store.upsertDocuments(run, ["a", "b", "c"].map((id) => ({ id, text: id, source: id })));
    const write = async (vectors: Record<string, number[]>) => {
      const claim = (await store.claimPending(10, "t"))!;
      await claim.commit(
        claim.documents.filter((d) => d.id in vectors).map((d) => ({ docId: d.id, window: 0, start: 0, end: 1, vector: Float32Array.from(vectors[d.id]), tokenCount: 1, truncated: false })),
        [],
      );
    };
    await write({ a: [1, 0, 0], b: [0, 1, 0] });
    const q = Float32Array.from([1, 1, 0]);
    let [hits] = await store.search([q], 5);
    assert.deepEqual(hits.map((h) => h.id), ["a", "b"]);
    assert.ok(Math.abs(hits[0].score - Math.SQRT1_2) < 1e-7);
    await write({ c: [2, 2, 0] });
    [hits] = await store.search([q], 2);
    assert.deepEqual(hits.map((h) => h.id), ["c", "a"]);
    assert.ok(Math.abs(hits[0].score - 1) < 1e-7);
    await assert.rejects(store.search([Float32Array.from([1, 0])], 2), /Expected a query of 3 dimensions/);
    await store.close();
  });
});
