/**
 * Start-up cost of the CLI, whole process (spawn to exit), medians of several runs: `--help`,
 * `tokenize` one word, `embed` one word (a MiniLM-shaped model, 6 layers x 384), each against bare
 * `node -e 0` in the same run (the floor no CLI can beat) — ratios are what to read on a loaded
 * machine. Targets from issue 17: --help <= 120 ms, embed one word <= 250 ms.
 *
 *   npm run build && node --import tsx bench/startup.ts [--runs 11] [--model DIR]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, modelPath } from "../test/helpers/paths.js";

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1] ?? 0) || 11;
const model = argv.includes("--model") ? argv[argv.indexOf("--model") + 1] : modelPath("minilm-l6-h384-random");
const BIN = join(REPO_ROOT, "bin", "bert-ts.js");

interface Case {
  name: string;
  args: string[];
  target?: number;
}

const cases: Case[] = [
  { name: "node -e 0 (floor)", args: ["-e", "0"] },
  { name: "bert-ts --help", args: [BIN, "--help"], target: 120 },
  { name: "bert-ts --version", args: [BIN, "--version"] },
  { name: "bert-ts tokenize word", args: [BIN, "tokenize", "-m", model, "--format", "jsonl", "word"] },
  { name: "bert-ts embed word", args: [BIN, "embed", "-m", model, "--format", "jsonl", "word"], target: 250 },
];

/** CPU ms (user + sys) this process's waited-for children have used so far (Linux /proc; NaN elsewhere). */
function childrenCpuMs(): number {
  try {
    // After "pid (comm) ", cutime and cstime are the 14th and 15th fields, in clock ticks (100 a second).
    const fields = readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return NaN;
  }
}

const cpuTimes = new Map<string, number[]>();

function timeOnce(args: string[], name?: string): number {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, BERT_TS_THREADS: "1" } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  if (name !== undefined) cpuTimes.set(name, [...(cpuTimes.get(name) ?? []), childrenCpuMs() - cpu0]);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const before = loadavg()[0];
// Interleaved rounds, so a burst of load hits every case alike.
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (const c of cases) timeOnce(c.args); // warm the page cache
for (let i = 0; i < runs; i++) for (const c of cases) times.get(c.name)!.push(timeOnce(c.args, c.name));
const after = loadavg()[0];

const floor = median(times.get(cases[0].name)!);
console.log(`CLI start-up, whole process, median of ${runs} runs (load average ${before.toFixed(1)} -> ${after.toFixed(1)} on ${(await import("node:os")).availableParallelism()} CPUs; model ${model})`);
// CPU ms (user + sys, 10 ms ticks) is the steadier figure on a loaded machine; wall clock is what the targets mean.
console.log(["case".padEnd(24), "median ms".padStart(10), "min ms".padStart(8), "x floor".padStart(8), "cpu ms".padStart(8), "target".padStart(8), "met".padStart(4)].join(" "));
for (const c of cases) {
  const t = times.get(c.name)!;
  const m = median(t);
  const met = c.target === undefined ? "" : m <= c.target ? "yes" : "no";
  console.log(
    [
      c.name.padEnd(24),
      m.toFixed(0).padStart(10),
      Math.min(...t).toFixed(0).padStart(8),
      (m / floor).toFixed(2).padStart(8),
      median(cpuTimes.get(c.name)!).toFixed(0).padStart(8),
      (c.target ? `${c.target}` : "").padStart(8),
      met.padStart(4),
    ].join(" "),
  );
}
console.log("(a speed figure of process start-up, not of arithmetic: no FMA peak fraction applies)");
