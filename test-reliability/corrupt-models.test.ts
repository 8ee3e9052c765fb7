/**
 * Every generated corrupt/malicious model folder (safetensors, torch zip/pickle including bombs and
 * code-executing pickles, configs, tokenizer files, sentence-transformers files, FIFOs, symlinks),
 * each loaded in a child process with a timeout and peak-RSS watch. Prints the counts; all must be
 * 0 and the worst refused folder must stay under 300 MB.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { corruptCases, formatTally, runCases } from "../test/helpers/corrupt-models.js";

test("every corrupt model folder: no crash, hang, code execution or unclear error; bounded memory", async () => {
  const cases = corruptCases();
  assert.ok(cases.length >= 200, `only ${cases.length} cases`);
  const root = mkdtempSync(join(tmpdir(), "bert-ts-corrupt-all-"));
  try {
    const { tally } = await runCases(cases, root);
    console.log(formatTally(tally));
    assert.deepEqual(tally.problems, []);
    assert.ok(tally.worstRssMb < 300, `peak RSS ${tally.worstRssMb} MB (${tally.worstRssCase})`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
