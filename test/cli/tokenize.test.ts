/**
 * `bert-ts tokenize` end to end: a spawned `node bin/bert-ts.js` (bin imports dist/, so build
 * first: `npm test` does), texts from arguments, stdin, .txt and .jsonl, checked against the golden ids.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadGolden, modelPath, REPO_ROOT, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const MODEL = "minilm-l6-h384-random";
const GOLDEN = "minilm-l6-h384-random.json";
const built = existsSync(join(REPO_ROOT, "dist", "cli", "commands", "tokenize.js"));
const skip = skipUnlessModel(MODEL) || skipUnlessGolden(GOLDEN) || (built ? false : "dist/ not built (run npx tsc -p tsconfig.json)");

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "bert-ts.js"), "tokenize", "--model", modelPath(MODEL), ...args], {
    input: input ?? "",
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonl(stdout: string): any[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

function temp(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "bert-ts-cli-")), name);
  writeFileSync(path, content);
  return path;
}

test("tokenize: texts as arguments, JSONL with Hugging Face field names", { skip }, () => {
  const g = loadGolden(GOLDEN).inputs;
  const r = run(["--format", "jsonl", g[0].input, g[12].input]);
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = jsonl(r.stdout);
  assert.deepEqual(a.input_ids, g[0].input_ids);
  assert.deepEqual(a.tokens, g[0].tokens);
  assert.deepEqual(a.token_type_ids, g[0].token_type_ids);
  assert.deepEqual(a.attention_mask, g[0].attention_mask);
  assert.deepEqual(a.special_tokens_mask, g[0].special_tokens_mask);
  assert.deepEqual(a.offsets, [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0]]);
  assert.deepEqual(a.word_ids, [null, 0, 1, 2, 3, null]);
  assert.deepEqual(b.input_ids, g[12].input_ids);
});

test("tokenize: stdin lines (JSONL by default when piped), .txt and .jsonl files, --pair", { skip }, () => {
  const g = loadGolden(GOLDEN).inputs;
  const fromStdin = run([], `${g[0].input}\n\n${g[1].input}\n`);
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.deepEqual(jsonl(fromStdin.stdout).map((o) => o.input_ids), [g[0].input_ids, g[1].input_ids]);

  const txt = run(["--input", temp("in.txt", `${g[1].input}\r\n${g[10].input}\n`)]);
  assert.deepEqual(jsonl(txt.stdout).map((o) => o.input_ids), [g[1].input_ids, g[10].input_ids]);

  const file = temp("in.jsonl", [JSON.stringify(g[2].input), JSON.stringify(g[5].input), JSON.stringify({ text: g[23].input[0], text_pair: g[23].input[1] })].join("\n"));
  const pairs = jsonl(run(["--input", file]).stdout);
  assert.deepEqual(pairs.map((o) => o.input_ids), [g[2].input_ids, g[5].input_ids, g[23].input_ids]);
  assert.deepEqual(pairs[0].token_type_ids, g[2].token_type_ids);

  const withPair = jsonl(run([g[2].input[0], "--pair", g[2].input[1]]).stdout);
  assert.deepEqual(withPair[0].input_ids, g[2].input_ids);
});

test("tokenize: --stride gives the overflowing windows (return_overflowing_tokens)", { skip }, () => {
  const g = loadGolden(GOLDEN).inputs;
  const ids = g[1].input_ids as number[]; // [CLS] 10 pieces [SEP]
  const body = ids.slice(1, -1);
  const r = jsonl(run(["--max-length", "6", "--stride", "2", g[1].input]).stdout)[0];
  // 4 pieces a window, consecutive windows sharing 2: pieces 0-3, 2-5, 4-7, 6-9.
  const windows = [0, 2, 4, 6].map((start) => [ids[0], ...body.slice(start, start + 4), ids.at(-1)]);
  assert.deepEqual([r.input_ids, ...r.overflowing.map((w: any) => w.input_ids)], windows);
  assert.equal(g[1].input, "The quick brown fox jumps over the lazy dog.");
  assert.deepEqual(r.overflowing[0].offsets, [[0, 0], [10, 15], [16, 19], [20, 25], [26, 30], [0, 0]], "offsets still index the whole text");
  const none = jsonl(run(["--max-length", "6", "--stride", "0", g[1].input]).stdout)[0];
  assert.deepEqual([none.input_ids, ...none.overflowing.map((w: any) => w.input_ids)].map((w) => w.length), [6, 6, 4], "no overlap: 4 + 4 + 2 pieces");
  const bad = run(["--max-length", "6", "--stride", "4", g[1].input]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /stride \(4\) must be smaller than the room left for the windowed sequence \(4 tokens\)/);
});

test("tokenize: --offsets code-points counts as Python does (an emoji is one character)", { skip }, () => {
  const text = "I love 🍕 and 😀 pizza";
  const utf16 = jsonl(run(["--format", "jsonl", text]).stdout)[0];
  const points = jsonl(run(["--format", "jsonl", "--offsets", "code-points", text]).stdout)[0];
  assert.deepEqual(utf16.tokens, ["[CLS]", "i", "love", "[UNK]", "and", "[UNK]", "pizza", "[SEP]"]);
  assert.deepEqual(utf16.offsets, [[0, 0], [0, 1], [2, 6], [7, 9], [10, 13], [14, 16], [17, 22], [0, 0]]);
  // Python: text.index("pizza") == 16, len("😀") == 1.
  assert.deepEqual(points.offsets, [[0, 0], [0, 1], [2, 6], [7, 8], [9, 12], [13, 14], [15, 20], [0, 0]]);
  const pair = jsonl(run(["--format", "jsonl", "--offsets", "code-points", "🍕x", "--pair", "😀 y"]).stdout)[0];
  assert.deepEqual(pair.offsets.filter((o: number[], k: number) => pair.tokens[k] !== "[CLS]" && pair.tokens[k] !== "[SEP]"), [[0, 2], [0, 1], [2, 3]], "each sequence counted in its own string");
  const bad = run(["--offsets", "bytes", "x"]);
  assert.match(bad.stderr, /Unknown --offsets "bytes": expected utf16 or code-points/);
});

test("tokenize: truncation, readable text format, --output", { skip }, () => {
  const g = loadGolden(GOLDEN).inputs;
  const cut = jsonl(run(["--max-length", "5", g[1].input]).stdout)[0];
  assert.deepEqual(cut.input_ids, [...g[1].input_ids.slice(0, 4), 102]);
  assert.equal(cut.num_truncated_tokens, g[1].input_ids.length - 5);
  const long = jsonl(run([g[22].input, "--truncation"]).stdout)[0];
  assert.deepEqual(long.input_ids, g[22].input_ids, "--truncation alone: to the model's 512");

  const text = run(["--format", "text", "Hello, world!"]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^ *1 +hello +7592 +0 +0-5 +Hello$/m);
  assert.match(text.stdout, /6 tokens/);

  const out = join(mkdtempSync(join(tmpdir(), "bert-ts-cli-")), "out.jsonl");
  const written = run(["--output", out, "Hello, world!"]);
  assert.equal(written.status, 0, written.stderr);
  assert.equal(written.stdout, "");
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")).input_ids, g[0].input_ids);
});

test("tokenize: bad input is a clear error on stderr with a non-zero exit", { skip }, () => {
  const missing = run(["--input", "/nonexistent/texts.txt"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /Input file not found: \/nonexistent\/texts.txt/);
  const malformed = run(["--input", temp("bad.jsonl", '"ok"\n{not json\n')]);
  assert.notEqual(malformed.status, 0);
  assert.match(malformed.stderr, /bad\.jsonl:2: not valid JSON/);
  const wrongShape = run(["--input", temp("shape.jsonl", "[1, 2, 3]\n")]);
  assert.match(wrongShape.stderr, /shape\.jsonl:1: expected a string/);
  const badModel = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "bert-ts.js"), "tokenize", "--model", "/nonexistent/model", "x"], { encoding: "utf8" });
  assert.notEqual(badModel.status, 0);
  assert.match(badModel.stderr, /\/nonexistent\/model/);
  const badFormat = run(["--format", "xml", "x"]);
  assert.match(badFormat.stderr, /Unknown --format "xml"/);
  const badLength = run(["--max-length", "0", "x"]);
  assert.notEqual(badLength.status, 0);
  assert.match(badLength.stderr, /--max-length expects a positive integer/);
});

const REAL_TOKENIZER = "sentence-transformers--all-MiniLM-L6-v2";
test("tokenize takes a hub id whose models-dir folder has tokenizer files but no weights", { skip: skipUnlessModel(REAL_TOKENIZER) || skipUnlessGolden("sentence-transformers--all-MiniLM-L6-v2.tokenizer.json") }, () => {
  const golden = loadGolden("sentence-transformers--all-MiniLM-L6-v2.tokenizer.json").inputs[0];
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "bert-ts.js"), "tokenize", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--format", "jsonl", golden.input], {
    encoding: "utf8",
    env: { ...process.env, BERT_TS_MODELS: join(modelPath(REAL_TOKENIZER), ".."), HF_HUB_OFFLINE: "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).input_ids, golden.input_ids);
});

test("invalid UTF-8 input is refused with its line and byte, never replaced silently", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-utf8-"));
  const file = join(dir, "bad.txt");
  writeFileSync(file, Buffer.concat([Buffer.from("good line\nbad "), Buffer.from([0xff, 0xfe]), Buffer.from(" here\n")]));
  const fromFile = run(["--input", file]);
  assert.notEqual(fromFile.status, 0);
  assert.match(fromFile.stderr, /bad\.txt:2: invalid UTF-8 at byte 14/);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "bert-ts.js"), "tokenize", "--model", modelPath(MODEL), "--format", "jsonl"], {
    input: Buffer.concat([Buffer.from("ok\n"), Buffer.from([0xc3, 0x28])]),
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /stdin:2: invalid UTF-8 at byte 3/);
  // A BOM and CRLF line ends are fine.
  const bom = run(["--format", "jsonl"], "\uFEFFhello\r\nworld\n");
  assert.equal(bom.status, 0, bom.stderr);
  assert.deepEqual(jsonl(bom.stdout).map((x) => x.text), ["hello", "world"]);
});
