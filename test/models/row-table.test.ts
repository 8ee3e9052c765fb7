/**
 * The word embeddings stay in the weight file until rows are asked for (models/row-table.ts): a short
 * run reads only its tokens' rows; past wholeTableAfter(vocab) row reads the table is read whole.
 * Both paths must give PyTorch's last_hidden_state (golden, 1e-4), and the work counts must show which
 * path ran.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BertModel } from "../../src/models/bert/model.js";
import { wholeTableAfter } from "../../src/models/row-table.js";
import { getBackend } from "../../src/backend/index.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

// float16, bfloat16, float32 safetensors, and a pytorch_model.bin (held in memory as float32).
for (const name of ["minilm-l6-h384-random", "bert-micro-seqcls-random", "bert-micro-chinese-random", "bert-micro-ner-random"]) {
  const skip = skipUnlessModel(name) || skipUnlessGolden(`${name}.json`);
  describe(`word embeddings read by row: ${name}`, { skip }, () => {
    it("reads only the rows of the tokens, then the whole table once many are wanted, matching PyTorch either way", async () => {
      const g = loadGolden(`${name}.json`);
      const model = await BertModel.fromPretrained(modelPath(name), { backend: getBackend() });
      const table = model.embeddings.wordEmbeddingTable;
      assert.equal(table.isLoaded, false, "nothing read at load");
      const inp = g.inputs.find((i: any) => i.outputs.base?.last_hidden_state) ?? assert.fail("no golden last_hidden_state");
      const run = () =>
        model.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

      assertClose(run().sequence(0).data, inp.outputs.base.last_hidden_state, 1e-4, "last_hidden_state, rows read singly");
      assert.equal(table.rowsReadSingly, inp.input_ids.length);
      assert.equal(table.isLoaded, false);

      const limit = wholeTableAfter(model.config.vocab_size);
      while (table.rowsReadSingly + inp.input_ids.length <= limit) run();
      assert.equal(table.isLoaded, false, "still below the limit");
      run();
      assert.equal(table.isLoaded, true, "read whole past the limit");
      assert.ok(table.rowsReadSingly <= limit);
      assertClose(run().sequence(0).data, inp.outputs.base.last_hidden_state, 1e-4, "last_hidden_state, whole table");
    });
  });
}
