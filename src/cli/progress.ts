/**
 * Progress of a long run on stderr: a bar with percent, rate and ETA (cli-progress) on a terminal
 * only — logs and pipes get just the closing summary line — plus that one-line summary.
 */
import type { SingleBar } from "cli-progress";
import { traceLoad } from "../io/load-trace.js";

export interface RunProgress {
  /** `done` of `total` units finished. */
  update(done: number): void;
  /** Stops the bar (if any) and prints "bert-ts: <verb> N texts in S s (R texts/s)". */
  finish(done: number): void;
}

/** "1 text", "2 texts". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function summaryLine(verb: string, done: number, seconds: number, noun = "text"): string {
  const rate = seconds > 0 ? done / seconds : 0;
  return `bert-ts: ${verb} ${plural(done, noun)} in ${seconds.toFixed(2)} s (${rate.toFixed(1)} ${noun}s/s)`;
}

/**
 * A bar when `show` (the caller checks stderr is a terminal and the run is long enough to need one);
 * cli-progress is loaded only then, so short runs and pipes do not pay for it.
 */
export async function startProgress(label: string, total: number, show: boolean, verb: string, noun = "text"): Promise<RunProgress> {
  traceLoad(`ready (${label})`);
  const started = performance.now();
  let bar: SingleBar | undefined;
  if (show) {
    const { default: cliProgress } = await import("cli-progress");
    bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${noun}s | {rate} ${noun}s/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: "0.0" });
  }
  return {
    update(done) {
      const secs = (performance.now() - started) / 1000;
      bar?.update(done, { rate: secs > 0 ? (done / secs).toFixed(1) : "0.0" });
    },
    finish(done) {
      bar?.stop();
      traceLoad(`${verb} ${done}`);
      process.stderr.write(`${summaryLine(verb, done, (performance.now() - started) / 1000, noun)}\n`);
    },
  };
}
