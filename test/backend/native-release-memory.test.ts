/**
 * releaseFreeMemory (malloc_trim on glibc): the server's engine calls it after an inference worker
 * dies. It must exist in the built addon and leave the addon's state alone (a packed layer still
 * computes the same). That it returns a dead worker's arena is shown by the server soak's RSS trend.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { releaseFreeNativeMemory } from "../../src/backend/native.js";
import { addon, skipNative } from "./native-helpers.js";

describe("native releaseFreeMemory", { skip: skipNative }, () => {
  it("is exported, and a packed layer computes the same before and after it", () => {
    const a = addon();
    const isa = a.isaIndex(a.info().best);
    const n = 8, k = 16;
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i));
    const x = Float32Array.from({ length: 2 * k }, (_, i) => Math.cos(i));
    const handle = a.prepareLinear(isa, w, 0, null, n, k);
    const before = new Float32Array(2 * n);
    a.linear(handle, x, 2, 0, before);
    assert.equal(releaseFreeNativeMemory(), true);
    const after = new Float32Array(2 * n);
    a.linear(handle, x, 2, 0, after);
    assert.deepEqual(after, before);
    a.freeLinear(handle);
  });

  it("is what the engine calls: releaseFreeNativeMemory reaches the addon's releaseFreeMemory", () => {
    assert.equal(typeof addon().releaseFreeMemory, "function");
  });
});

