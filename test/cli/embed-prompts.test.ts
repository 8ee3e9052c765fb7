/** `bert-ts embed --prompt-name / --prompt`: the prompted text's vector is PyTorch's vector of prompt + text. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { REPO_ROOT, loadGolden, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
}

describe("bert-ts embed --prompt-name / --prompt", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  // Golden input 1 is "The quick brown fox jumps over the lazy dog.".
  const text = "brown fox jumps over the lazy dog.";
  const dir = () => overlayModel(MINILM, { "config_sentence_transformers.json": { prompts: { lead: "The quick " }, default_prompt_name: null } });

  it("prepends the named prompt or the given text", () => {
    const expected = loadGolden(`${MINILM}.json`).inputs[1].outputs.base.pooled.mean_l2_normalized;
    const model = dir();
    for (const flags of [["--prompt-name", "lead"], ["--prompt", "The quick "]]) {
      const res = run(["embed", "-m", model, ...flags, "--format", "jsonl", text]);
      assert.equal(res.status, 0, res.stderr);
      const [line] = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(line.text, text);
      assertClose(line.embedding, expected, 1e-4, flags.join(" "));
    }
  });

  it("names the model's prompts when the name is unknown; refuses both flags at once", () => {
    const res = run(["embed", "-m", dir(), "--prompt-name", "query", "x"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /Unknown prompt name "query": the model's prompts are lead/);
    const both = run(["embed", "-m", dir(), "--prompt-name", "lead", "--prompt", "x", "y"]);
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /--prompt or --prompt-name, not both/);
  });
});
