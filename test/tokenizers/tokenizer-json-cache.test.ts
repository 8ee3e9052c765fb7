/**
 * The tokenizer.json cache (io/tokenizer-json-cache.ts): the second load of a WordPiece or BPE
 * tokenizer.json comes from the cache file and still tokenizes every golden input exactly as
 * transformers did; a damaged cache file or an edited tokenizer.json is read afresh.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lastTokenizerCacheOutcome } from "../../src/io/tokenizer-json-cache.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { suiteEnvironment } from "../helpers/environment.js";

const CASES = [
  { model: "minilm-l6-h384-random", kind: "WordPiece" },
  { model: "roberta-micro-random", kind: "BPE" },
];
const skip = CASES.map((c) => skipUnlessModel(c.model) || skipUnlessGolden(`${c.model}.json`)).find((r) => r) ?? false;

describe("tokenizer.json cache", { skip }, () => {
  suiteEnvironment(() => ({ BERT_TS_CACHE: mkdtempSync(join(tmpdir(), "bert-ts-tokcache-")), BERT_TS_TOKENIZER_CACHE: undefined }));

  const checkGolden = async (dir: string, model: string, label: string) => {
    const tok = await loadTokenizer(dir);
    for (const [i, x] of loadGolden(`${model}.json`).inputs.entries()) {
      const [a, b]: [string, string | null] = x.is_pair ? x.input : [x.input, null];
      const enc = tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
      assert.deepEqual(enc.inputIds, x.input_ids, `${label} ${model} input ${i} input_ids`);
      assert.deepEqual(enc.tokens, x.tokens, `${label} ${model} input ${i} tokens`);
    }
    assert.equal(tok.decode(tok.encode("hello world").inputIds, { skipSpecialTokens: true }).trim(), "hello world");
  };

  for (const { model, kind } of CASES) {
    it(`${kind} (${model}): writes the cache on the first load, reads it on the second, same tokens as transformers`, async () => {
      await checkGolden(modelPath(model), model, "first load");
      assert.equal(lastTokenizerCacheOutcome, "created");
      await checkGolden(modelPath(model), model, "cached load");
      assert.equal(lastTokenizerCacheOutcome, "hit");
    });
  }

  it("rewrites a damaged cache file", async () => {
    const dir = join(process.env.BERT_TS_CACHE!, "tokenizers");
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), "utf8");
      writeFileSync(join(dir, f), text.slice(0, text.length / 2));
    }
    await checkGolden(modelPath(CASES[0].model), CASES[0].model, "damaged cache");
    assert.equal(lastTokenizerCacheOutcome, "rebuilt");
    await loadTokenizer(modelPath(CASES[0].model));
    assert.equal(lastTokenizerCacheOutcome, "hit");
  });

  it("ignores a cache file with one flipped bit in its vocabulary table (the checksum), and rewrites it", async () => {
    const dir = join(process.env.BERT_TS_CACHE!, "tokenizers");
    await loadTokenizer(modelPath(CASES[0].model));
    assert.equal(lastTokenizerCacheOutcome, "hit");
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      // Past the header, inside the arrays: a lookup table one bit off would still parse.
      bytes[Math.floor(bytes.length * 0.75)] ^= 0x10;
      writeFileSync(join(dir, f), bytes);
    }
    await checkGolden(modelPath(CASES[0].model), CASES[0].model, "flipped bit");
    assert.equal(lastTokenizerCacheOutcome, "rebuilt");
    await loadTokenizer(modelPath(CASES[0].model));
    assert.equal(lastTokenizerCacheOutcome, "hit");
  });

  it("reads an edited tokenizer.json afresh (the key holds its size and mtime)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-tokedit-"));
    cpSync(modelPath(CASES[0].model), dir, { recursive: true, filter: (src) => !src.endsWith(".safetensors") });
    const path = join(dir, "tokenizer.json");
    const before = await loadTokenizer(dir);
    assert.equal(lastTokenizerCacheOutcome, "created");
    // Rename a token: the edited file must give the new token, not the cached old one.
    const json = JSON.parse(readFileSync(path, "utf8"));
    const id = json.model.vocab["hello"];
    assert.equal(typeof id, "number");
    delete json.model.vocab["hello"];
    json.model.vocab["hallo"] = id;
    writeFileSync(path, JSON.stringify(json));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const after = await loadTokenizer(dir);
    assert.equal(lastTokenizerCacheOutcome, "created");
    assert.equal(before.convertIdsToTokens([id])[0], "hello");
    assert.equal(after.convertIdsToTokens([id])[0], "hallo");
  });
});
