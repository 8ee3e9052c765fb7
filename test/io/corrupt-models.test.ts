/**
 * A fast sample of the corrupt/malicious model folders (test-reliability/ runs them all): each is
 * loaded in a child process with a timeout and peak-RSS watch. No crash, hang, code execution,
 * error without its file/field, silently accepted corruption or refused valid folder; every
 * refused file stays under 300 MB.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { corruptCases, DIST_ENTRY, formatTally, runCases } from "../helpers/corrupt-models.js";

/** One case of each kind that once crashed, hung or misled (the list), plus every 25th of the rest. */
const KEY = [
  "valid: safetensors + vocab.txt",
  "config: is a FIFO",
  "config: model_type: \"__proto__\"",
  "config: model_type: \"toString\"",
  "config: num_hidden_layers: 100000000000000000000",
  "config: fewer layers than the checkpoint",
  "sentence-transformers: modules.json an object",
  "sentence-transformers: Pooling path \"../../etc\"",
  "pickle: 20 M EMPTY_LIST",
  "pickle: memo flood (MEMOIZE)",
  "pickle: calls os.system",
  "pickle: INST os system",
  "safetensors: NaN in embeddings.LayerNorm.weight",
  "safetensors: NaN in encoder.layer.0.intermediate.dense.weight",
  "tokenizer: max_input_chars_per_word -1",
  "tokenizer: vocab.txt with [CLS] beyond vocab_size",
];

test("a sample of corrupt model folders: refused clearly, in bounded memory, never executed", { skip: existsSync(DIST_ENTRY) ? false : "needs the build (npm run build): the children load dist/" }, async () => {
  const all = corruptCases();
  const sample = all.filter((c, i) => KEY.includes(c.name) || i % 25 === 0);
  assert.ok(sample.filter((c) => KEY.includes(c.name)).length === KEY.length, "a key case was renamed");
  const root = mkdtempSync(join(tmpdir(), "bert-ts-corrupt-"));
  try {
    const { tally } = await runCases(sample, root);
    console.log(formatTally(tally));
    assert.deepEqual(tally.problems, []);
    assert.equal(tally.crashes + tally.hangs + tally.codeExecuted + tally.errorsWithoutFileOrField + tally.acceptedSilently + tally.validRefused, 0);
    assert.ok(tally.worstRssMb < 300, `peak RSS ${tally.worstRssMb} MB (${tally.worstRssCase})`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
