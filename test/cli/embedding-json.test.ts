/**
 * The embed command's JSONL lines are written with the vector's numbers formatted by the native addon
 * (ByteWriter.floats with the addon's jsonNumbersInto, cli/embedding-output.ts writeJsonLineWithVector): they must be byte for byte what JSON.stringify writes
 * (ECMAScript Number::toString: shortest round-trip digits, its own exponent layout), for every kind
 * of float32 — normal, subnormal, huge, tiny, zeros, NaN and infinities (JSON null).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { writeJsonLineWithVector } from "../../src/cli/embedding-output.js";
import { ByteWriter, type OutputSink } from "../../src/cli/io.js";
import { addon, skipNative } from "../backend/native-helpers.js";
import { mulberry32 } from "../helpers/random.js";

/** Float32 values of every class: random bit patterns, embedding-like values, and the edges of Number::toString's layouts. */
function testValues(count: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = (rand() * 2 ** 32) >>> 0;
  const values = new Float32Array(bits.buffer);
  for (let i = 0; i < count; i += 3) values[i] = (rand() * 2 - 1) * 0.2; // what embeddings hold
  const edges = [0, -0, 1, -1, 0.1, 0.5, 100, 1e7, 2 ** 24, 2 ** 70, 1e20, 1e21, 1.5e21, 1e-6, 1e-7, 0.000001, 0.0000001, 123456789, 3.4e38, -3.4e38, 1.4e-45, 1.2e-38, NaN, Infinity, -Infinity];
  values.set(edges.map(Math.fround), 0);
  return values;
}

describe("JSON numbers of embedding vectors", () => {
  it("the native writer gives JSON.stringify's text for 1M float32 values of every class", { skip: skipNative }, () => {
    const { jsonNumbersInto } = addon();
    if (typeof jsonNumbersInto !== "function") return assert.fail("this build of the addon lacks jsonNumbersInto (std::to_chars for double)");
    const values = testValues(1 << 20, 7);
    const want = JSON.stringify(Array.from(values)).slice(1, -1).split(",");
    const target = new Uint8Array(5 + 33 * values.length);
    const end = jsonNumbersInto.call(addon(), values, target, 5);
    const got = Buffer.from(target.buffer, 5, end - 5).toString("latin1").split(",");
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`value ${i} (${values[i]}): wrote ${got[i]}, JSON.stringify writes ${want[i]}`);
    assert.equal(jsonNumbersInto.call(addon(), new Float32Array(0), target, 7), 7, "no values, no bytes");
    assert.throws(() => jsonNumbersInto.call(addon(), values.subarray(0, 10), new Uint8Array(329), 0), RangeError, "less than 33 bytes a value");
  });

  it("a JSONL line is JSON.stringify's, byte for byte, with and without the fields around the vector, across chunk boundaries", () => {
    getBackend(); // the native addon, when built, is loaded as the CLI has it loaded
    const parts: Buffer[] = [];
    const sink = { writeBytes: (bytes: Uint8Array, written?: () => void) => (parts.push(Buffer.from(bytes)), written?.()) } as unknown as OutputSink;
    const out = new ByteWriter(sink);
    const heads = [{}, { text: "a \"quoted\" text\n" }, { text: "x", text_pair: "ü 😀" }];
    const tails = [undefined, {}, { provenance: { model: "m", tokens: 3, truncated: false } }];
    let want = "";
    for (let round = 0; round < 60; round++) {
      // 60 x 9 lines of 384 numbers (~8 KB each) fill several 1 MB chunks.
      const v = testValues(384, 11 + round);
      for (const head of heads) {
        for (const tail of tails) {
          writeJsonLineWithVector(out, head, "embedding", v, tail);
          want += JSON.stringify({ ...head, embedding: Array.from(v), ...tail }) + "\n";
        }
      }
    }
    out.flush();
    assert.ok(parts.length > 2, "several chunks");
    const got = Buffer.concat(parts).toString("utf8");
    assert.equal(got.length, want.length);
    assert.ok(got === want, "the same bytes as JSON.stringify");
  });
});
