/**
 * The threaded wasm build (helper instances in worker_threads over one shared memory): the helpers
 * really take tasks (counted by the pool, not timed), and every kernel gives bit-for-bit the
 * single-threaded build's results (the work is split by rows, panels and heads, never inside a dot
 * product), so a model on threads matches PyTorch exactly as well as on one thread.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BertModel } from "../../src/models/bert/model.js";
import type { WasmBackend } from "../../src/backend/wasm.js";
import { assertBitEqual, randomArray, rng } from "./native-helpers.js";
import { skipWasmThreads, threadedWasmBackend, wasmBackend } from "./wasm-helpers.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const THREADS = 3;

function starts(lengths: number[]): Int32Array {
  const s = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) s[i + 1] = s[i] + lengths[i];
  return s;
}

describe("wasm threads", { skip: skipWasmThreads }, () => {
  let threaded: WasmBackend;
  let single: WasmBackend;
  before(async () => {
    threaded = await threadedWasmBackend(THREADS);
    single = wasmBackend();
  });
  after(() => threaded?.dispose());

  it(`starts ${THREADS} threads, and the helpers take part in the work`, () => {
    assert.equal(threaded.threads, THREADS, threaded.threadsFallbackReason);
    assert.equal(threaded.name, `wasm simd128 x${THREADS} threads`);
    const rand = rng(1);
    const [m, n, k] = [256, 768, 768];
    const p = threaded.prepareLinear(randomArray(n * k, rand), null, n, k);
    const x = randomArray(m * k, rand);
    const before = threaded.helperTasks;
    // A busy machine may keep a helper off the CPU for a whole call: allow many calls, count tasks.
    for (let i = 0; i < 200 && threaded.helperTasks === before; i++) threaded.linear(x, m, p);
    assert.ok(threaded.helperTasks > before, "no helper ever ran a task");
  });

  it("linear, LayerNorm, attention and first-row attention are bit-identical to the single-threaded build", () => {
    const rand = rng(2);
    for (const [m, n, k] of [[1, 384, 384], [37, 1536, 384], [300, 384, 1536], [65, 33, 257]]) {
      const w = randomArray(n * k, rand);
      const b = randomArray(n, rand);
      const x = randomArray(m * k, rand);
      assertBitEqual(`linear ${m}x${k}x${n}`, threaded.linear(x, m, threaded.prepareLinear(w, b, n, k), "gelu"), single.linear(x, m, single.prepareLinear(w, b, n, k), "gelu"));
    }
    const [rows, cols] = [300, 384];
    const x = randomArray(rows * cols, rand, 3);
    const res = randomArray(rows * cols, rand);
    const gamma = randomArray(cols, rand);
    const beta = randomArray(cols, rand);
    assertBitEqual("layernorm", threaded.addLayerNorm(x, res, rows, cols, gamma, beta, 1e-12), single.addLayerNorm(x, res, rows, cols, gamma, beta, 1e-12));
    const s = starts([128, 1, 77, 100, 33]);
    const [heads, d] = [12, 32];
    const qkv = randomArray(s[s.length - 1] * 3 * heads * d, rand, 2);
    const a = threaded.attention(qkv, s, heads, d, 0.2, true);
    const b = single.attention(qkv, s, heads, d, 0.2, true);
    assertBitEqual("attention context", a.context, b.context);
    for (let i = 0; i < a.probs!.length; i++) assertBitEqual(`attention probs ${i}`, a.probs![i], b.probs![i]);
    assertBitEqual("first-row attention", threaded.firstRowAttention(qkv, s, heads, d, 0.2), single.firstRowAttention(qkv, s, heads, d, 0.2));
  });

  const name = "minilm-l6-h384-random";
  it(`${name}: PyTorch's hidden states on threads, bit-identical to one thread`, { skip: skipUnlessModel(name) || skipUnlessGolden(`${name}.json`) }, async () => {
    const g = loadGolden(`${name}.json`);
    const onThreads = await BertModel.fromPretrained(modelPath(name), { backend: threaded });
    const onOne = await BertModel.fromPretrained(modelPath(name), { backend: single });
    const inputs = g.inputs.map((inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined }));
    const batchThreads = onThreads.forward(inputs);
    const batchOne = onOne.forward(inputs);
    for (const [i, inp] of g.inputs.entries()) {
      assertClose(batchThreads.sequence(i).data, inp.outputs.base.last_hidden_state, 1e-4, `${name} input ${i} on threads`);
      assertBitEqual(`${name} input ${i} threads vs one`, batchThreads.sequence(i).data, batchOne.sequence(i).data);
    }
  });
});
