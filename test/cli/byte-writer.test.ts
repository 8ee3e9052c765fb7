/**
 * ByteWriter (cli/io.ts), the bulk JSONL writer of `tokenize`: byte for byte what JSON.stringify
 * writes, across chunk boundaries, and with settle() between items a bounded number of chunks in
 * flight that are reused rather than allocated anew (work counts, not timings).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteWriter, type OutputSink } from "../../src/cli/io.js";

/** A sink that copies what it gets and reports each chunk written on a later turn of the event loop. */
function recordingSink(): { sink: OutputSink; text: () => string; maxInFlight: () => number } {
  const parts: Buffer[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sink = {
    writeBytes(bytes: Uint8Array, written?: () => void) {
      parts.push(Buffer.from(bytes));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setImmediate(() => {
        inFlight--;
        written?.();
      });
    },
  } as unknown as OutputSink;
  return { sink, text: () => Buffer.concat(parts).toString("utf8"), maxInFlight: () => maxInFlight };
}

const STRINGS = ["plain", "", 'quote " and \\ backslash', "tab\tnew\nline \u0001 \u001f", "héllo wörld", "日本語", "emoji 😀", "lone \ud800 surrogate", "del \u007f", "##ing"];

test("strings, string lists, integers, pairs and nulls come out as JSON.stringify writes them", async () => {
  const { sink, text } = recordingSink();
  const out = new ByteWriter(sink);
  const expected: string[] = [];
  for (const s of STRINGS) {
    out.jsonString(s).text("\n");
    expected.push(JSON.stringify(s));
  }
  out.jsonStrings(STRINGS).text("\n");
  expected.push(JSON.stringify(STRINGS));
  const ints = [0, 7, 9, 10, 99, 100, 999, 1000, 65535, 250002, 2 ** 31, Number.MAX_SAFE_INTEGER];
  out.uints(ints).text("\n");
  expected.push(JSON.stringify(ints));
  const pairs: [number, number][] = [[0, 0], [3, 17], [1234, 99999]];
  out.uintPairs(pairs).text("\n");
  expected.push(JSON.stringify(pairs));
  const words = [null, 0, 12, null, 345];
  out.uintsOrNulls(words).text("\n");
  expected.push(JSON.stringify(words));
  out.uints([]).jsonStrings([]).uintPairs([]).uintsOrNulls([]).text("\n");
  expected.push("[][][][]");
  out.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(text(), expected.join("\n") + "\n");
});

test("with settle() between items, megabytes of output use a bounded number of reused chunks", async () => {
  const { sink, text, maxInFlight } = recordingSink();
  const out = new ByteWriter(sink);
  const expected: string[] = [];
  const tokens = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `tok"${i}"` : `token${i}`));
  const ids = Array.from({ length: 300 }, (_, i) => i * 977);
  for (let line = 0; line < 2000; line++) {
    out.text("{").jsonStrings(tokens).text(",").uints(ids).text("}\n");
    if (out.backlog > 2) await out.settle();
  }
  for (let line = 0; line < 2000; line++) expected.push(`{${JSON.stringify(tokens)},${JSON.stringify(ids)}}`);
  out.flush();
  await out.settle(0);
  const got = text();
  assert.ok(got.length > 8 * 1024 * 1024, "the output spans many 1 MB chunks");
  assert.equal(got, expected.join("\n") + "\n");
  assert.ok(maxInFlight() <= 3, `at most 3 chunks in flight, saw ${maxInFlight()}`);
  assert.ok(out.allocations <= 4, `chunks are reused: ${out.allocations} allocated for ${Math.ceil(got.length / 2 ** 20)} MB`);
});
