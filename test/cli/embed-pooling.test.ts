/**
 * `bert-ts embed` with the pooling beyond the classic strategies, as a spawned process against the
 * PyTorch references (../shared/golden/pooling-extra): cls_attention, long documents as windows
 * (the scripts' contract: --window-pooling weighted --no-normalize gives doc_weighted), each window's
 * vector and span, and sentences (checked by construction: no Python reference segments alike).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const GOLDEN = "pooling-extra/minilm-l6-h384-random.json";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, "embed", "--model", modelPath(MINILM), ...args], { input, encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } });
}

function jsonLines(stdout: string): any[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

describe("bert-ts embed: cls_attention, windows, sentences", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(GOLDEN) }, () => {
  const g = () => loadGolden(GOLDEN);

  it("--pooling cls_attention [--no-normalize] gives the reference vectors", () => {
    const cases = g().cls_attention.filter((c: any) => !c.input.includes("\n")).slice(0, 6);
    const input = cases.map((c: any) => c.input).join("\n") + "\n";
    const raw = run(["--pooling", "cls_attention", "--no-normalize", "--max-length", "512", "--format", "jsonl"], input);
    assert.equal(raw.status, 0, raw.stderr);
    const unit = run(["--pooling", "cls_attention", "--normalize", "--max-length", "512", "--format", "jsonl"], input);
    assert.equal(unit.status, 0, unit.stderr);
    jsonLines(raw.stdout).forEach((l, k) => assertClose(l.embedding, cases[k].pooled, 1e-4, `case ${k}`));
    jsonLines(unit.stdout).forEach((l, k) => {
      const n = Math.hypot(...cases[k].pooled);
      assertClose(l.embedding, cases[k].pooled.map((x: number) => x / n), 1e-4, `normalised case ${k}`);
    });
  });

  it("--long-inputs chunk --max-length 128 --chunk-stride 32 --window-pooling weighted --no-normalize gives doc_weighted", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-windows-"));
    const docs = g().windows;
    writeFileSync(join(dir, "docs.txt"), docs.map((d: any) => d.input).join("\n") + "\n");
    const res = spawnSync(
      process.execPath,
      [BIN, "embed", "--model", modelPath(MINILM), "--long-inputs", "chunk", "--max-length", "128", "--chunk-stride", "32", "--window-pooling", "weighted", "--no-normalize", "--input", join(dir, "docs.txt")],
      { encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } },
    );
    assert.equal(res.status, 0, res.stderr);
    const lines = jsonLines(res.stdout);
    assert.equal(lines.length, docs.length);
    lines.forEach((l, k) => assertClose(l.embedding, docs[k].doc_weighted, 1e-4, `document ${k}`));
  });

  it("--return-windows adds each window's vector, token count and character span", () => {
    const doc = g().windows[1];
    const res = run(["--long-inputs", "chunk", "--max-length", "128", "--chunk-stride", "32", "--window-pooling", "max", "--no-normalize", "--return-windows", "--format", "jsonl", doc.input]);
    assert.equal(res.status, 0, res.stderr);
    const [line] = jsonLines(res.stdout);
    assertClose(line.embedding, doc.doc_max, 1e-4, "doc_max");
    assert.equal(line.windows.length, doc.window_ids.length);
    line.windows.forEach((w: any, k: number) => {
      assertClose(w.embedding, doc.window_vectors[k], 1e-4, `window ${k}`);
      assert.equal(w.num_tokens, doc.window_ids[k].length);
      if (k > 0) {
        // Consecutive windows share 32 tokens, so their spans overlap and move forward.
        assert.ok(w.span[0] > line.windows[k - 1].span[0] && w.span[0] < line.windows[k - 1].span[1], `span ${k} overlaps ${k - 1}`);
      }
    });
    assert.equal(line.windows[0].span[0], 0);
    assert.equal(line.windows.at(-1).span[1], doc.input.length);
  });

  it("--split sentences: spans cover the text, each sentence's vector is that sentence embedded alone", () => {
    const text = "The first sentence is short.  Is the second one a question? Yes!\nA last line without a full stop";
    for (const pooling of ["mean", "weighted"]) {
      const res = run(["--split", "sentences", "--locale", "en", "--window-pooling", pooling, "--no-normalize", "--format", "jsonl", text]);
      assert.equal(res.status, 0, res.stderr);
      const [line] = jsonLines(res.stdout);
      const sentences: any[] = line.sentences;
      assert.deepEqual(sentences.map((s) => s.text), ["The first sentence is short.", "Is the second one a question?", "Yes!", "A last line without a full stop"]);
      // Spans: in order, disjoint, each the sentence's own text, and only whitespace between them.
      let covered = 0;
      for (const s of sentences) {
        assert.equal(text.slice(s.span[0], s.span[1]), s.text);
        assert.match(text.slice(covered, s.span[0]), /^\s*$/);
        covered = s.span[1];
      }
      assert.equal(covered, text.length);
      const alone = jsonLines(run(["--no-normalize", "--format", "jsonl", ...sentences.map((s) => s.text)]).stdout);
      sentences.forEach((s, k) => assert.deepEqual(s.embedding, alone[k].embedding, `sentence ${k}`));
      const weights = sentences.map((s) => (pooling === "weighted" ? s.num_tokens : 1));
      const total = weights.reduce((a, b) => a + b, 0);
      const want = line.embedding.map((_: number, c: number) => sentences.reduce((a, s, k) => a + (weights[k] * s.embedding[c]) / total, 0));
      assertClose(line.embedding, want, 1e-6, `document (${pooling})`);
    }
  });

  it("refuses meaningless or unknown hierarchical options with a clear message", () => {
    const cases: [string[], RegExp][] = [
      [["--chunk-stride", "8", "x"], /--chunk-stride applies to --long-inputs chunk only/],
      [["--long-inputs", "chunk", "--chunk-stride", "-1", "x"], /--chunk-stride expects a non-negative integer/],
      [["--long-inputs", "chunk", "--window-pooling", "median", "x"], /Unknown --window-pooling "median"; expected one of: mean, weighted, max/],
      [["--window-pooling", "max", "x"], /--window-pooling applies to --long-inputs chunk or --split sentences/],
      [["--split", "words", "x"], /Unknown --split "words": expected sentences/],
      [["--split", "sentences", "--locale", "not a locale!", "x"], /Invalid locale "not a locale!"/],
      [["--return-windows", "--format", "csv", "x"], /--return-windows writes jsonl, json or text, not csv/],
      [["--pooling", "none", "--return-windows", "x"], /--pooling none gives token vectors/],
      [["--pooling", "cls_attn", "x"], /Unknown pooling "cls_attn"/],
      [["--long-inputs", "chunk", "--max-length", "16", "--chunk-stride", "14", "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"], /stride \(14\) must be smaller than the room left/],
    ];
    for (const [args, message] of cases) {
      const res = run(args);
      assert.notEqual(res.status, 0, `${args.join(" ")} should fail`);
      assert.match(res.stderr, message, args.join(" "));
      assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack trace for ${args.join(" ")}`);
    }
  });
});
