/**
 * The XLM-R folder's E5 prompts (config_sentence_transformers.json: "query: ", "passage: ";
 * default_prompt_name null): the prompted input's ids equal tokenizer(prompt + text). Needs the
 * SentencePiece tokenizer and the XLM-RoBERTa family; until both are in, the test says so and skips.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const XLMR = "xlm-roberta-micro-random";

async function loadOrSkipReason(): Promise<SentenceEncoder | string> {
  try {
    return await SentenceEncoder.load(modelPath(XLMR));
  } catch (err) {
    const message = (err as Error).message;
    // Only the two missing features skip; any other failure is a failure.
    if (/No supported tokenizer|Unsupported model_type/.test(message)) return `needs SentencePiece and XLM-RoBERTa support (${message})`;
    throw err;
  }
}

const loaded = skipUnlessModel(XLMR) ? undefined : await loadOrSkipReason();

describe("E5 prompts of the XLM-R folder", { skip: skipUnlessModel(XLMR) || (typeof loaded === "string" ? loaded : false) }, () => {
  const encoder = loaded as SentenceEncoder;

  it("prompt_name query/passage: ids equal tokenizer(prompt + text); no prompt by default", async () => {
    assert.deepEqual(encoder.prompts, { prompts: { query: "query: ", passage: "passage: " }, defaultPromptName: null });
    for (const [name, text] of [["query", "how much protein should a female eat"], ["passage", "Le chat est sur le tapis."]] as const) {
      const [got] = await encoder.tokenEmbeddings([text], { promptName: name });
      assert.deepEqual(got.tokens, encoder.tokenizer.encode(`${name}: ${text}`).tokens);
    }
    const [plain] = await encoder.tokenEmbeddings(["Le chat"]);
    assert.deepEqual(plain.tokens, encoder.tokenizer.encode("Le chat").tokens);
  });
});
