/**
 * The timing loop of the kernel benches (bench/gemm.ts, bench/wasm-gemm.ts): warm up, size a batch
 * of runs to about `seconds`, return the median seconds per call.
 *
 * Two clocks. "wall" (performance.now) is what a user waits; "cpu" (this process's user + system
 * CPU time, process.cpuUsage) is what a single-threaded call costs when the machine is shared: under
 * load the scheduler preempts any call longer than a time slice, so the wall-clock median of a 5 ms
 * GEMM doubles while a 0.2 ms one is untouched, which reads as "slow at large K" when it is not. CPU
 * time counts every thread of the process, so it is right for one-thread runs only; multi-threaded
 * runs use the wall clock.
 */
export type Clock = "wall" | "cpu";

export interface TimeOptions {
  /** At least this many timed samples (default 5). */
  minRuns?: number;
  /** Aim for about this many seconds of timed samples (default 0.25). */
  seconds?: number;
  /** At most this many samples (default 100). */
  maxRuns?: number;
  clock?: Clock;
  /** What the samples reduce to: the median (default) or the best (least disturbed) one. */
  statistic?: "median" | "best";
}

/** The clock the benches use unless told (BERT_TS_BENCH_CLOCK=wall|cpu). */
export function clockFromEnv(fallback: Clock): Clock {
  const c = process.env.BERT_TS_BENCH_CLOCK;
  if (c === undefined || c === "") return fallback;
  if (c !== "wall" && c !== "cpu") throw new Error(`BERT_TS_BENCH_CLOCK must be wall or cpu, not ${c}`);
  return c;
}

function now(clock: Clock): number {
  if (clock === "wall") return performance.now() / 1000;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Seconds per call of `fn` (median or best sample). Two warm-up calls first (page-in; V8 tiers wasm up from its
 * baseline compiler). A sample is `reps` calls, enough to span 2 ms: CPU time has microsecond
 * resolution.
 */
export function secondsPerCall(fn: () => void, options: TimeOptions = {}): number {
  const clock = options.clock ?? "wall";
  const minRuns = options.minRuns ?? 5;
  const seconds = options.seconds ?? 0.25;
  const maxRuns = options.maxRuns ?? 100;
  fn();
  fn();
  let t0 = now(clock);
  fn();
  const once = Math.max(now(clock) - t0, 1e-6);
  const reps = clock === "cpu" ? Math.max(1, Math.ceil(0.002 / once)) : 1;
  const runs = Math.max(minRuns, Math.min(maxRuns, Math.floor(seconds / (once * reps))));
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    t0 = now(clock);
    for (let r = 0; r < reps; r++) fn();
    samples.push((now(clock) - t0) / reps);
  }
  return options.statistic === "best" ? Math.min(...samples) : median(samples);
}

/** Deterministic values in [-1, 1) (a linear congruential generator): the same inputs every run. */
export function randomArray(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a / 2 ** 31 - 1;
  }
  return out;
}
