/**
 * The word embeddings stay in the weight file until rows are asked for (models/row-table.ts):
 * - with a backend that maps files (native), the table is a view on the mapped file: no row is read,
 *   nothing is copied, and the kernels gather from it;
 * - otherwise a short run reads only its tokens' rows, and past wholeTableAfter(vocab) row reads the
 *   table is read whole.
 * Every path must give PyTorch's last_hidden_state (golden, 1e-4), and the work counts must show which
 * path ran.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { getBackend } from "../../src/backend/index.js";
import { NativeBackend } from "../../src/backend/native.js";
import { halfBitsToFloat32 } from "../../src/io/dtype.js";
import { openSafetensorsFile } from "../../src/io/safetensors.js";
import { BertModel } from "../../src/models/bert/model.js";
import { RowTable, wholeTableAfter } from "../../src/models/row-table.js";
import { addon, skipNative } from "../backend/native-helpers.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { buildSafetensors, makeTempDir, writeFile } from "../io/helpers.js";

// float16, bfloat16, float32 safetensors, and a pytorch_model.bin (held in memory as float32).
const MODELS = [
  { name: "minilm-l6-h384-random", inFile: true },
  { name: "bert-micro-seqcls-random", inFile: true },
  { name: "bert-micro-chinese-random", inFile: true },
  { name: "bert-micro-ner-random", inFile: false },
];

for (const { name, inFile } of MODELS) {
  const skip = skipUnlessModel(name) || skipUnlessGolden(`${name}.json`);
  describe(`word embeddings kept in the file: ${name}`, { skip }, () => {
    const golden = () => {
      const g = loadGolden(`${name}.json`);
      return g.inputs.find((i: any) => i.outputs.base?.last_hidden_state) ?? assert.fail("no golden last_hidden_state");
    };
    const runner = (model: BertModel, inp: any) => () =>
      model.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

    it("without file mapping (reference backend): reads only the rows of the tokens, then the whole table once many are wanted, matching PyTorch either way", async () => {
      const inp = golden();
      const model = await BertModel.fromPretrained(modelPath(name), { backend: getBackend("reference") });
      const table = model.embeddings.wordEmbeddingTable;
      const run = runner(model, inp);
      assert.equal(table.isLoaded, false, "nothing read at load");

      assertClose(run().sequence(0).data, inp.outputs.base.last_hidden_state, 1e-4, "last_hidden_state, rows read singly");
      assert.equal(table.rowsReadSingly, inp.input_ids.length);
      assert.equal(table.isLoaded, false);
      assert.equal(table.isMapped, false);

      const limit = wholeTableAfter(model.config.vocab_size);
      while (table.rowsReadSingly + inp.input_ids.length <= limit) run();
      assert.equal(table.isLoaded, false, "still below the limit");
      run();
      assert.equal(table.isLoaded, true, "read whole past the limit");
      assert.ok(table.rowsReadSingly <= limit);
      assertClose(run().sequence(0).data, inp.outputs.base.last_hidden_state, 1e-4, "last_hidden_state, whole table");
    });

    it(
      inFile
        ? "with the native backend: gathers from a mapping of the safetensors file, reading and copying no row"
        : "with the native backend: a table not in a file (pytorch_model.bin) is read by row as before",
      { skip: skipNative },
      async () => {
        const inp = golden();
        const model = await BertModel.fromPretrained(modelPath(name), { backend: getBackend("native") });
        const table = model.embeddings.wordEmbeddingTable;
        const run = runner(model, inp);
        for (let pass = 0; pass < 3; pass++) {
          assertClose(run().sequence(0).data, inp.outputs.base.last_hidden_state, 1e-4, `last_hidden_state, pass ${pass}`);
        }
        assert.equal(table.isMapped, inFile);
        assert.equal(table.isLoaded, false, "no copy of the whole table");
        assert.equal(table.rowsReadSingly, inFile ? 0 : 3 * inp.input_ids.length);
        if (inFile) {
          // The tied-weights accessor hands out the mapped view itself, not a copy.
          const words = model.embeddings.wordEmbeddingMatrix;
          assert.equal(table.isLoaded, false);
          assert.equal(words instanceof Float32Array ? words.length : words.bits.length, model.config.vocab_size * model.config.embedding_size);
        }
      },
    );
  });
}

describe("RowTable over a mapped file", { skip: skipNative }, () => {
  const tmp = makeTempDir("bert-ts-rowtable-");
  after(tmp.cleanup);
  const rows = 40, cols = 6;
  const values = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 37) % 101) / 8 - 6); // exact in f16
  const f16Bits = () => {
    const bits = new Uint16Array(values.length);
    // f16 encodings of the values above (all are multiples of 1/8 within ±7: exact).
    for (let i = 0; i < values.length; i++) bits[i] = float32ToHalfExact(values[i]);
    return bits;
  };
  const backend = (): Backend => new NativeBackend(addon(), addon().info().best);

  /** A file whose table follows `pad` f16 values (an odd pad misaligns a float32 table). */
  function tableFile(dtype: "F32" | "F16", pad: number): { path: string; table: RowTable } {
    const table = dtype === "F32" ? new Uint8Array(values.buffer.slice(0)) : new Uint8Array(f16Bits().buffer);
    const tensors = [
      ...(pad > 0 ? [{ name: "pad", dtype: "F16", shape: [pad], bytes: new Uint8Array(2 * pad) }] : []),
      { name: "words", dtype, shape: [rows, cols], bytes: table },
    ];
    const path = writeFile(tmp.dir, `${dtype}-${pad}.safetensors`, buildSafetensors(tensors));
    const t = openSafetensorsFile(path).tensors.find((x) => x.name === "words")!;
    const b = backend();
    return { path, table: new RowTable(t, rows, cols, () => assert.fail("the whole table must not be read"), b.mapFile!.bind(b)) };
  }

  function gathered(table: RowTable): Float32Array {
    const out = new Float32Array(rows * cols);
    for (let r = rows - 1; r >= 0; r--) table.gather(r, out, r * cols);
    return out;
  }

  for (const dtype of ["F32", "F16"] as const) {
    it(`${dtype}: every row comes from the mapping, equal to the stored values`, () => {
      const { table } = tableFile(dtype, 2);
      assert.deepEqual(gathered(table), values);
      assert.equal(table.isMapped, true);
      assert.equal(table.rowsReadSingly, 0);
      const resident = table.resident()!;
      const asFloat = resident instanceof Float32Array ? resident : halfToFloat(resident.format, resident.bits);
      assert.deepEqual(asFloat, values);
    });
  }

  it("a float32 table at an offset that is not a multiple of 4 is read by row instead", () => {
    const { table } = tableFile("F32", 1);
    assert.deepEqual(gathered(table), values);
    assert.equal(table.isMapped, false);
    assert.ok(table.rowsReadSingly > 0);
  });

  it("a file whose size no longer matches its header is not mapped", () => {
    const b = backend();
    const { path } = tableFile("F16", 0);
    const size = openSafetensorsFile(path).bytes;
    assert.ok(b.mapFile!(path, size) instanceof ArrayBuffer);
    assert.equal(b.mapFile!(path, size + 1), undefined);
    assert.equal(b.mapFile!(`${path}.missing`, size), undefined);
  });

  it("writes to the mapped view stay in memory: the file keeps its bytes", () => {
    const { path, table } = tableFile("F32", 0);
    const before = readFileSync(path);
    const view = table.resident() as Float32Array;
    view[0] = 12345;
    assert.equal(gathered(table)[0], 12345);
    assert.deepEqual(readFileSync(path), before);
  });
});

function halfToFloat(format: "f16" | "bf16", bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  halfBitsToFloat32(format, bits, 0, out);
  return out;
}

/** IEEE half bits of a float32 that f16 holds exactly (normal numbers and zero only). */
function float32ToHalfExact(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = (u >>> 13) & 0x3ff;
  assert.ok(exp > 0 && exp < 31 && (u & 0x1fff) === 0, `${v} is not exact in f16`);
  return sign | (exp << 10) | mant;
}
