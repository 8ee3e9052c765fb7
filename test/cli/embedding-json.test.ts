/**
 * The embed command's JSONL lines are written with the vector's numbers formatted by the native addon
 * (ByteWriter.floats with the addon's jsonNumbersInto, or a chunk of rows at once on its thread pool with
 * jsonNumberRowsInto; cli/embedding-output.ts writeJsonLineWithVector / writeJsonLinesWithVectors): they must be byte for byte what JSON.stringify writes
 * (ECMAScript Number::toString: shortest round-trip digits, its own exponent layout), for every kind
 * of float32 — normal, subnormal, huge, tiny, zeros, NaN and infinities (JSON null).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { writeJsonLineWithVector, writeJsonLinesWithVectors } from "../../src/cli/embedding-output.js";
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

  it("the pool's row writer puts each row's numbers in its slot, as jsonNumbersInto writes them, for any thread count", { skip: skipNative }, () => {
    const native = addon();
    const { jsonNumberRowsInto } = native;
    if (typeof jsonNumberRowsInto !== "function") return assert.fail("this build of the addon lacks jsonNumberRowsInto");
    const lengths = [384, 0, 1, 7, 384, 1000, 3, 384, 384, 25];
    const rows = lengths.map((n, r) => testValues(n + 30, 100 + r).subarray(30)); // views at an offset, too
    rows[6] = testValues(25, 5); // the edge values
    const room = rows.reduce((a, v) => a + 33 * v.length, 0);
    const before = native.info().threads;
    try {
      for (const threads of [1, 2, 3]) {
        native.setThreads(threads);
        const target = new Uint8Array(room).fill(120);
        const ends = new Uint32Array(rows.length + 2).fill(7);
        jsonNumberRowsInto.call(native, rows, target, ends);
        let slot = 0;
        rows.forEach((v, r) => {
          const want = JSON.stringify(Array.from(v)).slice(1, -1);
          assert.equal(Buffer.from(target.buffer, slot, ends[r] - slot).toString("latin1"), want, `row ${r} on ${threads} threads`);
          slot += 33 * v.length;
        });
        assert.deepEqual([...ends.subarray(rows.length)], [7, 7], "no ends past the rows");
      }
    } finally {
      native.setThreads(before);
    }
    assert.throws(() => jsonNumberRowsInto.call(native, rows, new Uint8Array(room - 1), new Uint32Array(rows.length)), RangeError, "less than 33 bytes a value");
    assert.throws(() => jsonNumberRowsInto.call(native, rows, new Uint8Array(room), new Uint32Array(rows.length - 1)), RangeError, "fewer ends than rows");
    assert.throws(() => jsonNumberRowsInto.call(native, [new Float64Array(3)] as unknown as Float32Array[], new Uint8Array(room), new Uint32Array(1)), TypeError);
    jsonNumberRowsInto.call(native, [], new Uint8Array(0), new Uint32Array(0)); // no rows: nothing to do
  });

  it("lines written a chunk of rows at a time are JSON.stringify's, byte for byte, also when the rows outgrow one scratch group", () => {
    getBackend(); // the native addon, when built, is loaded as the CLI has it loaded
    const parts: Buffer[] = [];
    const sink = { writeBytes: (bytes: Uint8Array, written?: () => void) => (parts.push(Buffer.from(bytes)), written?.()) } as unknown as OutputSink;
    const out = new ByteWriter(sink);
    // 200 rows of 384 values need more than the 2 MB group (~165 rows); one row of 70,000 values
    // needs a larger scratch on its own; provenance tails on every other row.
    const rows = Array.from({ length: 200 }, (_, r) => testValues(384, 500 + r));
    rows[150] = testValues(70_000, 9);
    const head = (r: number) => (r % 3 === 0 ? { text: `text ${r} "q"` } : { text: "ü", text_pair: String(r) });
    const tail = (r: number) => (r % 2 === 0 ? { provenance: { tokens: r, truncated: false } } : undefined);
    let want = "";
    for (const [first, count] of [[0, 1], [1, 199]]) {
      writeJsonLinesWithVectors(out, count, (k) => head(first + k), "embedding", (k) => rows[first + k], (k) => tail(first + k));
      for (let r = first; r < first + count; r++) want += JSON.stringify({ ...head(r), embedding: Array.from(rows[r]), ...tail(r) }) + "\n";
    }
    out.flush();
    const got = Buffer.concat(parts).toString("utf8");
    assert.equal(got.length, want.length);
    assert.ok(got === want, "the same bytes as JSON.stringify");
  });
});
