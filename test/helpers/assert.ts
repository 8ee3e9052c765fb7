import assert from "node:assert/strict";

/** Flattens nested number arrays (golden JSON) into one list. */
export function flat(x: unknown): number[] {
  if (typeof x === "number") return [x];
  if (Array.isArray(x)) return x.flatMap(flat);
  throw new Error(`expected numbers, got ${typeof x}`);
}

/** Largest |a - b| over two equally long sequences. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "length mismatch");
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

/** Every element within tol (absolute); the message names the worst index. */
export function assertClose(actual: ArrayLike<number>, expected: unknown, tol: number, label: string): void {
  const exp = Array.isArray(expected) ? flat(expected) : (expected as ArrayLike<number>);
  assert.equal(actual.length, exp.length, `${label}: length ${actual.length} vs expected ${exp.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - exp[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${label}: max |diff| ${worst} at [${at}] (got ${actual[at]}, expected ${exp[at]}) > ${tol}`);
}

export function assertBitIdentical(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length, `${label}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${label}: differs at [${i}]: ${a[i]} vs ${b[i]}`);
  }
}
