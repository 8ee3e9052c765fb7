/** `bert-ts ner` as a user runs it: a spawned process (bin → dist), texts from args, stdin and files; logits checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const NAME = "bert-micro-ner-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8" });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts ner", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  const g = () => loadGolden(`${NAME}.json`);

  it("writes JSONL, one object per input in order, with entities and HF's logits", () => {
    const inputs = g().inputs.filter((x: any) => typeof x.input === "string" && x.input.trim() && !/[\n\r]/.test(x.input) && !x.truncated);
    const res = run(["ner", "--model", modelPath(NAME)], inputs.map((x: any) => x.input).join("\n") + "\n");
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, inputs.length);
    out.forEach((o: any, i: number) => {
      assert.equal(o.text, inputs[i].input);
      assert.deepEqual(o.tokens, inputs[i].tokens);
      assertClose(o.logits.flat(), inputs[i].outputs.tokcls.logits, 1e-4, `line ${i} logits`);
      for (const e of o.entities) {
        assert.deepEqual(Object.keys(e).sort(), ["end", "entity_group", "score", "start", "word"]); // default --aggregation simple
        assert.ok(e.entity_group !== "O" && e.start < e.end && e.end <= o.text.length);
      }
    });
  });

  it("takes --aggregation none, --ignore-labels, a .jsonl file and --output; reads a >512-token text whole", () => {
    const long = Array.from({ length: 300 }, (_, i) => `Person${i} visited Antananarivo`).join(" ");
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-ner-"));
    writeFileSync(join(dir, "in.jsonl"), JSON.stringify("Ada Lovelace met Charles Babbage in London.") + "\n" + JSON.stringify(long) + "\n");
    const outFile = join(dir, "out.jsonl");
    const res = run(["ner", "-m", modelPath(NAME), "-i", join(dir, "in.jsonl"), "--aggregation", "none", "--ignore-labels", "", "-o", outFile]);
    assert.equal(res.status, 0, res.stderr);
    const [short, whole] = lines(readFileSync(outFile, "utf8"));
    assert.equal(short.entities.length, short.tokens.length - 2);
    assert.deepEqual(short.entities.map((e: any) => e.word), short.tokens.slice(1, -1));
    assert.ok(whole.tokens.length > 1000);
    assert.equal(whole.entities.length, whole.tokens.length - 2);
    assert.equal(whole.entities.at(-1).end, long.length);
  });

  it("prints a readable table with --format text", () => {
    const text = "Hugging Face is based in New York City.";
    const res = run(["ner", "-m", modelPath(NAME), "--format", "text", "--ignore-labels", "", text]);
    assert.equal(res.status, 0, res.stderr);
    const [head, header, ...rows] = res.stdout.trimEnd().split("\n");
    assert.equal(head, JSON.stringify(text));
    assert.match(header, /^\s+entity\s+score\s+span\s+text$/);
    // The same entities as the JSONL output (checked against PyTorch's logits above), one row each.
    const json = lines(run(["ner", "-m", modelPath(NAME), "--format", "jsonl", "--ignore-labels", "", text]).stdout)[0];
    assert.equal(rows.length, json.entities.length);
    rows.forEach((row, k) => {
      const m = /^\s+(\S+)\s+(0\.\d{4})\s+(\d+)-(\d+)\s+(".*")$/.exec(row);
      assert.ok(m, row);
      const e = json.entities[k];
      assert.deepEqual([m[1], m[2], Number(m[3]), Number(m[4]), JSON.parse(m[5])], [e.entity_group, e.score.toFixed(4), e.start, e.end, text.slice(e.start, e.end)]);
    });
  });

  it("fails with a clear message on an unknown strategy", () => {
    const res = run(["ner", "-m", modelPath(NAME), "--aggregation", "best", "x"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /Unknown --aggregation "best": expected none, simple, first, average, max/);
  });
});
