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

/** Every FIFO, prototype name, path escape, code call and bomb, plus every 8th of the rest. */
const KEY = /FIFO|__proto__|constructor|toString|\.\.|\/etc|calls |INST|OBJ|EMPTY_LIST|memo flood|MARKs|33 MB|NaN|Infinity|fewer layers|beyond vocab_size|an object|max_input_chars_per_word -1|1e\+20|valid/;

test("a sample of corrupt model folders: refused clearly, in bounded memory, never executed", { skip: existsSync(DIST_ENTRY) ? false : "needs the build (npm run build): the children load dist/" }, async () => {
  const all = corruptCases();
  const sample = all.filter((c, i) => KEY.test(c.name) || i % 8 === 0);
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
