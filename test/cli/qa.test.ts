/** `bert-ts qa` as a user runs it: a spawned process (bin → dist), --question/--context, .jsonl pairs, stdin; logits checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BertTokenizer } from "../../src/tokenizers/index.js";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const NAME = "bert-micro-qa-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8" });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts qa", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  const pairs = () => loadGolden(`${NAME}.json`).inputs.filter((x: any) => Array.isArray(x.input) && !x.truncated);

  it("answers --question from --context as JSONL with the answer span and HF's start/end logits", () => {
    const [inp] = pairs();
    const [question, context] = inp.input;
    const res = run(["qa", "--model", modelPath(NAME), "--question", question, "--context", context, "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    assert.equal(o.question, question);
    assert.equal(o.context, context);
    assert.equal(o.answer, context.slice(o.start, o.end));
    assert.ok(o.score > 0 && o.score <= 1);
    assert.deepEqual(o.answers, [{ score: o.score, start: o.start, end: o.end, answer: o.answer }]);
    assertClose(o.start_logits.flat(), inp.outputs.qa.start_logits, 1e-4, "start_logits");
    assertClose(o.end_logits.flat(), inp.outputs.qa.end_logits, 1e-4, "end_logits");
  });

  it("reads [question, context] pairs from a .jsonl file, in order, with --top-k and --output", () => {
    const ps = pairs();
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-qa-"));
    writeFileSync(join(dir, "in.jsonl"), ps.map((p: any) => JSON.stringify(p.input)).join("\n") + "\n");
    const outFile = join(dir, "out.jsonl");
    const res = run(["qa", "-m", modelPath(NAME), "-i", join(dir, "in.jsonl"), "--top-k", "3", "-o", outFile]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(readFileSync(outFile, "utf8"));
    assert.equal(out.length, ps.length);
    out.forEach((o: any, i: number) => {
      assert.deepEqual([o.question, o.context], ps[i].input);
      assert.equal(o.answers.length, 3);
      assert.deepEqual(o.answers[0], { score: o.score, start: o.start, end: o.end, answer: o.answer });
      for (const a of o.answers) assert.equal(a.answer, o.context.slice(a.start, a.end));
      assertClose(o.start_logits[0], ps[i].outputs.qa.start_logits, 1e-4, `line ${i} start_logits`);
    });
  });

  it("answers one --question over contexts from stdin, a long one in several windows", async () => {
    const long = Array.from({ length: 150 }, (_, i) => `Station ${i} opened in year ${1800 + i}.`).join(" ");
    const res = run(["qa", "-m", modelPath(NAME), "-q", "When did station 120 open?", "--impossible"], `Station one opened in 1801.\n${long}\n`);
    assert.equal(res.status, 0, res.stderr);
    const [a, b] = lines(res.stdout);
    assert.equal(a.start_logits.length, 1);
    // Windows of 384 tokens holding the whole question; consecutive ones share the default doc stride, 128 context tokens.
    const tokenizer = await BertTokenizer.fromPretrained(modelPath(NAME));
    const q = tokenizer.tokenize("When did station 120 open?").length;
    const c = tokenizer.tokenize(long).length;
    const room = 384 - q - 3;
    const windows = Math.ceil((c - room) / (room - 128)) + 1;
    assert.ok(windows > 2);
    assert.deepEqual(b.start_logits.map((w: number[]) => w.length), [...Array(windows - 1).fill(384), q + 3 + (c - (windows - 1) * (room - 128))]);
    assert.equal(b.answer, long.slice(b.start, b.end));
  });

  it("prints a readable answer table with --format text", () => {
    const res = run(["qa", "-m", modelPath(NAME), "--format", "text", "-q", "Who wrote Hamlet?", "-c", "Hamlet was written by William Shakespeare.", "-k", "2"]);
    assert.equal(res.status, 0, res.stderr);
    const [head, header, ...rows] = res.stdout.trimEnd().split("\n");
    assert.equal(head, 'Q: "Who wrote Hamlet?"');
    assert.match(header, /^\s+score\s+span\s+answer$/);
    assert.equal(rows.length, 2);
    for (const row of rows) assert.match(row, /^\s+0\.\d{4}\s+\d+-\d+\s+".+"$/);
  });

  it("explains missing contexts", () => {
    const res = run(["qa", "-m", modelPath(NAME), "--context", "x"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /--context needs --question/);
    const res2 = run(["qa", "-m", modelPath(NAME), "just a text"]);
    assert.match(res2.stderr, /has no context/);
  });
});
