// Loaded with --import into each benchmarked bert-ts process: prints the process's CPU time (user +
// sys of all its threads) on exit, so the bench can compare work done, which a loaded host's
// scheduling does not blur as it blurs wall-clock time.
import { writeSync } from "node:fs";

process.on("exit", () => {
  const u = process.cpuUsage();
  writeSync(2, `\nbert-ts-bench-cpu-ms ${(u.user + u.system) / 1000}\n`);
});
