/**
 * Shared by the native backend tests: loading the addon (skip with the reason when it is not built;
 * in CI, or with BERT_TS_REQUIRE_NATIVE=1, a missing addon fails instead: CI has a compiler, so a
 * failed build there is a bug, not a reason to skip), seeded random data, and comparisons.
 */
import assert from "node:assert/strict";
import { loadNativeAddon, type NativeAddon } from "../../src/backend/native.js";
import { mulberry32 } from "../helpers/random.js";

/** Seeded generator for kernel test data. */
export const rng = mulberry32;

const loaded = loadNativeAddon();
if (!loaded.addon && (process.env.CI === "true" || process.env.BERT_TS_REQUIRE_NATIVE === "1")) {
  throw new Error(`the native addon did not load, and CI / BERT_TS_REQUIRE_NATIVE=1 require it: ${loaded.reason}`);
}

/** For node:test's { skip }: false when the addon loaded, else why not. */
export const skipNative: string | false = loaded.addon ? false : `native addon not built: ${loaded.reason}`;

export function addon(): NativeAddon {
  if (!loaded.addon) throw new Error(loaded.reason);
  return loaded.addon;
}

/** Kernel sets this CPU supports, best first. */
export function isas(): string[] {
  return loaded.addon ? loaded.addon.info().isas : [];
}


/** Uniform values in [-scale, scale). */
export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

export function abs(a: Float32Array): Float32Array {
  return a.map(Math.abs);
}

/**
 * Asserts |got - want| <= rel * scale[i] + abs elementwise (scale defaults to |want|), reporting the
 * worst element. Returns the worst error relative to the bound (<= 1 on success).
 */
export function assertClose(
  what: string,
  got: Float32Array,
  want: Float32Array,
  tol: { rel: number; abs: number; scale?: Float32Array },
): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const bound = tol.rel * (tol.scale ? tol.scale[i] : Math.abs(want[i])) + tol.abs;
    const err = Math.abs(got[i] - want[i]);
    const r = err / bound;
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (worst > 1) {
    assert.fail(`${what}: element ${at} is ${got[at]}, expected ${want[at]} (error ${worst.toFixed(2)}x the bound)`);
  }
  return worst;
}

/** Bit-for-bit equality of two float arrays (NaN payloads and signed zeros included). */
export function assertBitEqual(what: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} differs: ${got[i]} vs ${want[i]}`);
  }
}
