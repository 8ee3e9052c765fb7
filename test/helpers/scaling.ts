/**
 * Complexity checks without wall-clock limits: a loaded machine makes any time limit flaky, so
 * these compare the CPU time of this process (user + system, which other processes do not add to)
 * on two workloads of the same total size.
 */
import assert from "node:assert/strict";

/** CPU microseconds this process spends in fn(). */
export function cpuMicros(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

/**
 * Asserts `run` is (near) linear in its input: one run on the whole input costs at most `bound`
 * times `parts` runs on a 1/parts-size input (the same total size). A quadratic algorithm would
 * cost about `parts` times as much; a linear one about the same.
 */
export function assertLinear<T>(what: string, make: (size: number) => T, run: (input: T) => void, size: number, parts = 8, bound = 3): void {
  const small = make(Math.floor(size / parts));
  const whole = make(size);
  run(small); // warm-up: compile the hot paths before either measurement
  const measure = () => {
    const piecewise = cpuMicros(() => {
      for (let i = 0; i < parts; i++) run(small);
    });
    return cpuMicros(() => run(whole)) / Math.max(1, piecewise);
  };
  // A fast workload (milliseconds) is noisy (GC, page faults): a ratio over the bound is measured
  // again, up to three times. A superlinear algorithm fails every time.
  let ratio = measure();
  for (let tries = 1; ratio >= bound && tries < 3; tries++) ratio = Math.min(ratio, measure());
  assert.ok(ratio < bound, `${what}: the whole input costs ${ratio.toFixed(1)}x ${parts} runs on 1/${parts} of it (linear ≈ 1, quadratic ≈ ${parts})`);
}
