/** Loading from model folders: which files win, and clear errors for missing or malformed ones. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AutoTokenizer, BertTokenizer, loadTokenizer } from "../../src/tokenizers/index.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "sentence-transformers--all-MiniLM-L6-v2";

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-tok-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

test("AutoTokenizer / loadTokenizer pick BertTokenizer; baked-in padding/truncation of tokenizer.json are ignored", { skip: skipUnlessModel(MINILM) }, async () => {
  const tok = await AutoTokenizer.fromPretrained(modelPath(MINILM));
  assert.ok(tok instanceof BertTokenizer);
  assert.equal((tok as BertTokenizer).source, "tokenizer.json");
  // The file says Fixed 128 padding and truncation to 128: transformers ignores both.
  assert.equal(tok.encode("hello").inputIds.length, 3);
  assert.equal(tok.encode(Array(300).fill("word").join(" ")).inputIds.length, 302);
  assert.equal(tok.modelMaxLength, 512);
  assert.equal(tok.vocabSize, 30522);
  assert.deepEqual([tok.clsTokenId, tok.sepTokenId, tok.padTokenId, tok.maskTokenId, tok.unkTokenId], [101, 102, 0, 103, 100]);
  assert.ok((await loadTokenizer(modelPath("bert-micro-ner-random"))) instanceof BertTokenizer);
});

test("missing or malformed files: errors name the folder or file", { skip: skipUnlessModel(MINILM) }, async () => {
  await assert.rejects(BertTokenizer.fromPretrained("/nonexistent/model"), /Model folder not found: \/nonexistent\/model/);
  const empty = tempDir({});
  await assert.rejects(BertTokenizer.fromPretrained(empty), /No BERT tokenizer in .*expected tokenizer.json or vocab.txt/);
  await assert.rejects(loadTokenizer(empty), /No supported tokenizer/);
  const badJson = tempDir({ "tokenizer.json": "{ not json" });
  await assert.rejects(BertTokenizer.fromPretrained(badJson), /Malformed JSON in .*tokenizer\.json/);
  const badConfig = tempDir({ "vocab.txt": "[UNK]\n", "tokenizer_config.json": "[1," });
  await assert.rejects(BertTokenizer.fromPretrained(badConfig), /Malformed JSON in .*tokenizer_config\.json/);
  const emptyVocab = tempDir({ "vocab.txt": "" });
  await assert.rejects(BertTokenizer.fromPretrained(emptyVocab), /Vocabulary .*vocab\.txt is empty/);
  const noUnk = tempDir({ "vocab.txt": "[CLS]\n[SEP]\nhello\n" });
  await assert.rejects(BertTokenizer.fromPretrained(noUnk), /vocab\.txt: Unknown token "\[UNK\]" is not in the vocabulary/);
  const binary = tempDir({ "vocab.txt": "[UNK]\n\0\0\0" });
  await assert.rejects(BertTokenizer.fromPretrained(binary), /not a text file/);
  const noModel = tempDir({ "tokenizer.json": "{}" });
  await assert.rejects(BertTokenizer.fromPretrained(noModel), /tokenizer\.json.*no "model" object/);
  // A vocab.txt copy with no configuration: BERT defaults (lower-case, [CLS]/[SEP]...).
  const bare = tempDir({});
  copyFileSync(join(modelPath(MINILM), "vocab.txt"), join(bare, "vocab.txt"));
  const tok = await BertTokenizer.fromPretrained(bare);
  assert.deepEqual(tok.encode("Hello").inputIds, [101, 7592, 102]);
  assert.equal(tok.modelMaxLength, 512);
});
