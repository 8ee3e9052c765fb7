/**
 * `bert-ts search --rerank`: the vector search's candidates rescored by a cross-encoder. The
 * rerank scores are checked against PyTorch's (the golden sigmoid of the cross-encoder on the same
 * query/passage pairs), the order against those scores, and `score` stays the store's cosine.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const CROSS = "bert-micro-cross-encoder-random";
const skip = skipUnlessModel(MINILM) || skipUnlessModel(CROSS) || skipUnlessGolden(`${CROSS}.json`);

const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
const jsonl = (s: string) => s.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts search --rerank", { skip }, () => {
  it("rescores the store's candidates with the cross-encoder (PyTorch's scores), best first, keeping the cosine", () => {
    const golden = (loadGolden(`${CROSS}.json`).inputs as any[]).filter((x) => x.outputs.rerank && Array.isArray(x.input) && x.input[0] && x.input[1] && !x.truncated);
    const passages = golden.map((x, i) => ({ id: `p${i}`, text: x.input[1] as string }));
    // Each query's golden pairs: id → PyTorch's sigmoid(logit).
    const expected = new Map<string, Map<string, number>>();
    golden.forEach((x, i) => {
      const q = x.input[0] as string;
      if (!expected.has(q)) expected.set(q, new Map());
      expected.get(q)!.set(`p${i}`, x.outputs.rerank.sigmoid as number);
    });
    const queries = [...expected].filter(([, m]) => m.size >= 2).map(([q]) => q);
    assert.ok(queries.length >= 2, "the golden file pairs some queries with two passages");

    const dir = mkdtempSync(join(tmpdir(), "bert-ts-rerank-"));
    const file = join(dir, "passages.jsonl");
    writeFileSync(file, passages.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const store = join(dir, "s.sqlite");
    const indexed = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", store, "--no-progress"]);
    assert.equal(indexed.status, 0, indexed.stderr);

    const qArgs = queries.flatMap((q) => ["-q", q]);
    const n = passages.length;
    const plain = run(["search", "--store", store, ...qArgs, "-k", String(n), "--format", "jsonl"]);
    assert.equal(plain.status, 0, plain.stderr);
    const cosine = new Map(jsonl(plain.stdout).map((h) => [`${h.query}\0${h.id}`, h.score as number]));

    const reranked = run(["search", "--store", store, ...qArgs, "-k", String(n), "--rerank", modelPath(CROSS), "--candidates", String(n), "--format", "jsonl"]);
    assert.equal(reranked.status, 0, reranked.stderr);
    const hits = jsonl(reranked.stdout);
    assert.equal(hits.length, n * queries.length);
    for (const q of queries) {
      const mine = hits.filter((h) => h.query === q);
      assert.deepEqual(mine.map((h) => h.rank), Array.from({ length: n }, (_, k) => k + 1));
      for (let k = 1; k < mine.length; k++) assert.ok(mine[k - 1].rerank_score >= mine[k].rerank_score, `${q}: rank ${k} before ${k + 1}`);
      for (const h of mine) assert.equal(h.score, cosine.get(`${q}\0${h.id}`), `${h.id}: score stays the cosine`);
      for (const [id, sigmoid] of expected.get(q)!) {
        const hit = mine.find((h) => h.id === id)!;
        assert.ok(Math.abs(hit.rerank_score - sigmoid) < 1e-4, `${q} / ${id}: ${hit.rerank_score} vs PyTorch ${sigmoid}`);
      }
    }

    // -k keeps the best k of the reranked list; --corpus reranks the same way.
    const top2 = jsonl(run(["search", "--store", store, "-q", queries[0], "-k", "2", "--rerank", modelPath(CROSS), "--candidates", String(n), "--format", "jsonl"]).stdout);
    assert.deepEqual(top2.map((h) => h.id), hits.filter((h) => h.query === queries[0]).slice(0, 2).map((h) => h.id));
    const txt = join(dir, "passages.txt");
    writeFileSync(txt, passages.map((p) => p.text).join("\n") + "\n");
    const corpus = run(["search", "--model", modelPath(MINILM), "--corpus", txt, "--no-cache", "-q", queries[0], "-k", String(n), "--rerank", modelPath(CROSS), "--candidates", String(n), "--format", "jsonl"]);
    assert.equal(corpus.status, 0, corpus.stderr);
    const [line] = jsonl(corpus.stdout);
    assert.deepEqual(line.results.map((r: { corpus_id: number }) => `p${r.corpus_id}`), hits.filter((h) => h.query === queries[0]).map((h) => h.id));
  });

  it("refuses --candidates without --rerank", () => {
    const res = run(["search", "--corpus", "x.txt", "-q", "a", "--candidates", "5"]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /--candidates applies to --rerank/);
  });
});
